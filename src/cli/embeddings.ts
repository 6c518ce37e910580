// --embedding FILE (repeatable) and --embeddings-dir DIR: textual-inversion embeddings for every
// command that tokenizes (generate, img2img, tokenize).
//
// --embedding loads a file with diffusers' semantics: the token is the one the file names (its
// dict key, or A1111's "name"). --embeddings-dir loads every .pt / .bin / .safetensors file in the
// folder and its subfolders the way AUTOMATIC1111's embeddings/ folder works: the token is the
// file name without its extension ("embeddings/my-style.pt" → "my-style"), whatever the file says.
//
// The files are found and checked before the model is loaded; the images' infotext lists the
// embeddings a prompt used as A1111 does: `TI hashes: "my-style: 1a2b3c4d5e6f, <cat-toy>: …"`
// (the first 12 hex digits of the file's SHA-256).

import { stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';

import { type Command, Option } from 'commander';

import { type CLIPTextModel, type CLIPTokenizer, type EmbeddingReport, embeddingShortHash, LatentlabError, listEmbeddingFiles, loadTextualInversion } from '../node.js';
import { collectText, nonEmptyFlag } from './values.js';

export interface EmbeddingFlags {
  embedding?: string[];
  embeddingsDir?: string;
}

/** One file to load: its token is given (--embeddings-dir: the file name) or the file's own (--embedding). */
export interface PlannedEmbedding {
  path: string;
  token?: string;
}

export type { EmbeddingReport } from '../node.js';

export function addEmbeddingOptions(cmd: Command): Command {
  cmd.addOption(new Option('--embedding <file>', 'a textual-inversion embedding (.safetensors, .bin or A1111 .pt) whose token prompts may use; repeat for several')
    .argParser(collectText('--embedding', false)));
  cmd.addOption(new Option('--embeddings-dir <dir>', 'load every embedding in this folder (and its subfolders), each usable by its file name, as in AUTOMATIC1111')
    .argParser(nonEmptyFlag('--embeddings-dir')));
  return cmd;
}

/** The files the flags name, checked to exist (before any model is loaded). */
export async function planEmbeddings(flags: EmbeddingFlags): Promise<PlannedEmbedding[]> {
  const planned: PlannedEmbedding[] = [];
  for (const path of flags.embedding ?? []) {
    if (!(await stat(path).catch(() => undefined))?.isFile()) {
      throw new LatentlabError('IO_NOT_FOUND', `--embedding ${path}: no such file`, { file: path, key: '--embedding', hint: 'pass the path of a .safetensors, .bin or .pt embedding file' });
    }
    planned.push({ path: resolve(path) });
  }
  if (flags.embeddingsDir !== undefined) {
    const dir = flags.embeddingsDir;
    if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
      throw new LatentlabError('IO_NOT_FOUND', `--embeddings-dir ${dir}: no such folder`, { file: dir, key: '--embeddings-dir', hint: 'pass a folder of embedding files (like A1111\'s embeddings/)' });
    }
    for (const path of await listEmbeddingFiles(dir)) planned.push({ path, token: basename(path, extname(path)) });
  }
  return planned;
}

/** Loads the planned embeddings into the tokenizer and text encoder (one call: all or nothing). */
export async function loadEmbeddings(tokenizer: CLIPTokenizer, textEncoder: CLIPTextModel, planned: readonly PlannedEmbedding[]): Promise<EmbeddingReport[]> {
  if (planned.length === 0) return [];
  const loaded = await loadTextualInversion(tokenizer, textEncoder, planned.map((p) => p.path), { token: planned.map((p) => p.token) });
  const hashes = await Promise.all(planned.map((p) => embeddingShortHash(p.path)));
  return loaded.map((l, i) => ({ file: planned[i].path, token: l.token, tokens: l.tokens, ids: l.ids, hash: hashes[i] }));
}

