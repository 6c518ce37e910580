// Loading textual-inversion embeddings into a tokenizer + text encoder, with the semantics of
// diffusers 0.27 `TextualInversionLoaderMixin.load_textual_inversion`:
//
//   await pipe.loadTextualInversion('learned_embeds.safetensors')           // token from the file: "<cat-toy>"
//   await pipe.loadTextualInversion('my-style.pt')                          // A1111: 2 vectors → "my-style", "my-style_1"
//   await pipe.loadTextualInversion(['a.bin', 'b.pt'], { token: ['<a>', '<b>'] })
//   await pipe.call({ prompt: 'a <cat-toy> in my-style' })                  // prompts are expanded (maybe_convert_prompt)
//
// 1. each file gives a token (its dict key, A1111's "name", or the `token` option, which wins) and
//    vectors [H] or [n, H];
// 2. a token that is in the vocabulary already — or whose `token_1` is — is an error, as is a
//    vector width other than the text encoder's hidden size (an SD 2 embedding on SD 1: 1024 ≠ 768);
// 3. n > 1 vectors become the tokens `token`, `token_1`, ..., `token_{n-1}`;
// 4. the tokens are added with ids len(tokenizer), len(tokenizer) + 1, ... in load order, and the
//    text encoder's token table grows by the same rows (concatenated in the graph, not copied).
// Everything is checked before anything is added, so a failed call leaves the pipeline unchanged.

import { LatentlabError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { CLIPTextModel } from '../models/clip-text-model.js';
import type { CLIPTokenizer } from '../tokenizers/index.js';
import { readEmbeddingFile } from '../weights/embedding-file.js';
import type { InMemoryFile } from '../weights/torch/checkpoint.js';

/** A file path, a file's bytes in memory, or the vectors themselves ([H] or [n, H]; then `token` is required). */
export type TextualInversionSource = string | InMemoryFile | Tensor;

export interface LoadTextualInversionOptions {
  /** The token to use instead of the file's (one per source when several are loaded). */
  token?: string | readonly (string | undefined)[];
}

export interface LoadedTextualInversion {
  /** The file path or name (undefined for a tensor). */
  file?: string;
  format: 'diffusers' | 'a1111' | 'tensor';
  /** The token to write in prompts. */
  token: string;
  /** Every token added for it: [token] or [token, token_1, ...] for multi-vector embeddings. */
  tokens: string[];
  /** Their ids in the tokenizer and the text encoder's table. */
  ids: number[];
}

function tiError(code: string, message: string, file: string | undefined, hint: string, key?: string): LatentlabError {
  return new LatentlabError(code, file ? `${file}: ${message}` : message, { file, key, hint });
}

/** Loads embeddings into `tokenizer` and `textEncoder` (what pipe.loadTextualInversion does). */
export async function loadTextualInversion(
  tokenizer: CLIPTokenizer,
  textEncoder: CLIPTextModel,
  sources: TextualInversionSource | readonly TextualInversionSource[],
  options: LoadTextualInversionOptions = {},
): Promise<LoadedTextualInversion[]> {
  const list = Array.isArray(sources) ? [...(sources as readonly TextualInversionSource[])] : [sources as TextualInversionSource];
  const tokens = Array.isArray(options.token) ? [...(options.token as readonly (string | undefined)[])] : list.map(() => options.token as string | undefined);
  if (list.length === 0) throw tiError('EMBEDDING_ARGUMENT', 'no embedding to load', undefined, 'pass a file path (or a list of them)');
  if (tokens.length !== list.length) {
    throw tiError('EMBEDDING_ARGUMENT', `${list.length} embeddings but ${tokens.length} tokens`, undefined, 'pass one token per embedding, or none (each file names its own)', 'token');
  }
  const H = textEncoder.config.hidden_size;
  const table = textEncoder.textModel.embeddings.tokenEmbedding.numEmbeddings;
  if (tokenizer.length !== table) {
    throw tiError('EMBEDDING_VOCAB', `the tokenizer has ${tokenizer.length} tokens but the text encoder's table has ${table} rows`, undefined,
      'use the tokenizer and text encoder of one pipeline, and load embeddings through both (pipe.loadTextualInversion)');
  }
  const vocab = tokenizer.vocab;
  const planned: { loaded: LoadedTextualInversion; rows: Tensor<'float32'> }[] = [];
  const taken = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const { file, format, token: fileToken, embedding } = await readSource(list[i]);
    const token = tokens[i] ?? fileToken;
    if (token === undefined) throw tiError('EMBEDDING_TOKEN', 'a bare tensor names no token', file, 'pass the token to use: { token: "<my-token>" }', 'token');
    if (typeof token !== 'string' || token.length === 0) throw tiError('EMBEDDING_ARGUMENT', `token ${JSON.stringify(token)} is not a non-empty string`, file, 'pass a token such as "<my-concept>"', 'token');
    if (embedding.rank < 1 || embedding.rank > 2) {
      throw tiError('EMBEDDING_SHAPE', `the embedding has shape [${embedding.shape.join(', ')}]; expected [${H}] or [n, ${H}]`, file, 'this is not a textual-inversion embedding');
    }
    const width = embedding.shape[embedding.rank - 1];
    if (width !== H) {
      throw tiError('EMBEDDING_WIDTH', `the embedding's vectors have ${width} values; this text encoder's hidden size is ${H}`, file,
        `the embedding was trained for another model family (SD 1.x vectors have 768 values, SD 2.x 1024); use one made for this model`);
    }
    const rows = embedding.rank === 1 ? embedding.reshape([1, H]) : embedding;
    if (rows.shape[0] === 0) throw tiError('EMBEDDING_EMPTY', 'the embedding has no vectors ([0, H])', file, 'the file is damaged; download it again');
    const names = [token, ...Array.from({ length: rows.shape[0] - 1 }, (_, k) => `${token}_${k + 1}`)];
    for (const n of names) {
      if (taken.has(n)) throw tiError('EMBEDDING_TOKEN_EXISTS', `token ${JSON.stringify(n)} is added twice in this call`, file, 'give each embedding its own token', 'token');
    }
    for (const name of [token, `${token}_1`]) {
      if (vocab.has(name)) {
        throw tiError('EMBEDDING_TOKEN_EXISTS', `token ${JSON.stringify(name)} is already in the tokenizer's vocabulary`, file,
          'choose a different token ({ token: "<new-name>" }) or load each embedding once', 'token');
      }
    }
    for (const n of names) taken.add(n);
    planned.push({ loaded: { file, format, token, tokens: names, ids: [] }, rows: rows as Tensor<'float32'> });
  }
  const ids = tokenizer.addTokens(planned.flatMap((p) => p.loaded.tokens));
  // The same ids in both, since their sizes matched above.
  textEncoder.addTokenEmbeddings(Tensor.cat0(planned.map((p) => p.rows)));
  let k = 0;
  for (const p of planned) p.loaded.ids = p.loaded.tokens.map(() => ids[k++]);
  return planned.map((p) => p.loaded);
}

async function readSource(s: TextualInversionSource): Promise<{ file?: string; format: LoadedTextualInversion['format']; token?: string; embedding: Tensor }> {
  if (s instanceof Tensor) {
    if (s.dtype !== 'float32' && s.dtype !== 'float16' && s.dtype !== 'bfloat16' && s.dtype !== 'float64') {
      throw tiError('EMBEDDING_DTYPE', `the embedding tensor has dtype ${s.dtype}; expected floating point`, undefined, 'pass float32 vectors');
    }
    return { format: 'tensor', embedding: s.toFloat32() };
  }
  if (typeof s !== 'string' && !(s && typeof s.name === 'string' && s.bytes instanceof Uint8Array)) {
    throw tiError('EMBEDDING_ARGUMENT', 'an embedding source must be a path, { name, bytes } or a Tensor', undefined, 'pass the path of a .safetensors, .bin or .pt file');
  }
  return readEmbeddingFile(s);
}
