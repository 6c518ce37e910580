// Textual-inversion embedding files as people share them, read into (token, vectors) — the file
// half of diffusers 0.27 `load_textual_inversion` (`load_textual_inversion_state_dicts` and
// `_retrieve_tokens_and_embeddings`):
//
//   diffusers  {"<cat-toy>": tensor[H] or [1, H]}     .safetensors, or torch.save'd as .bin
//   A1111      {"string_to_param": {"*": tensor[n, H]}, "name": "my-style", "step": ..., ...}   .pt
//   a bare     tensor[H] / [n, H] (torch.save of one tensor; the token must then be given)
//
// The kind is told by the content, not the file extension: torch files start with a zip or pickle
// signature, everything else is read as safetensors.

import { LatentlabError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { bytesSource, fileSource } from './byte-source.js';
import { headerLength, parseSafetensorsHeader, tensorFromBytes } from './safetensors.js';
import { describe, PyObject } from './pickle/values.js';
import type { PickleValue } from './pickle/values.js';
import { InMemoryFile, TorchCheckpoint } from './torch/checkpoint.js';
import { isTorchTensor } from './torch/rebuild.js';

export interface EmbeddingFile {
  file: string;
  format: 'diffusers' | 'a1111' | 'tensor';
  /** The token the file names (the dict key, or A1111's `name`); undefined for a bare tensor. */
  token?: string;
  /** float32, [H] or [n, H] as stored. */
  embedding: Tensor<'float32'>;
}

function formatError(file: string, what: string, hint: string, code = 'EMBEDDING_FORMAT'): LatentlabError {
  return new LatentlabError(code, `${file}: ${what}`, { file, hint });
}

const FORMATS_HINT = 'a textual-inversion embedding is {token: tensor} (diffusers, .safetensors/.bin) or an A1111 .pt with "string_to_param" and "name"';

/** Reads an embedding file (a path, or bytes in memory). */
export async function readEmbeddingFile(input: string | InMemoryFile): Promise<EmbeddingFile> {
  const source = typeof input === 'string' ? await fileSource(input) : bytesSource(input.name, input.bytes);
  const file = source.name;
  if (source.size === 0) throw formatError(file, 'the file is empty (0 bytes)', 'the download was probably interrupted; download the embedding again', 'EMBEDDING_EMPTY');
  const head = await source.read(0, Math.min(4, source.size));
  const isTorch = (head[0] === 0x50 && head[1] === 0x4b) || head[0] === 0x80;
  if (!isTorch) return fromSafetensors(file, await source.read(0, source.size));
  const ckpt = await TorchCheckpoint.fromSource(source);
  const load = async (v: PickleValue, where: string): Promise<Tensor<'float32'>> => {
    if (!isTorchTensor(v)) throw formatError(file, `${where} is not a tensor`, FORMATS_HINT);
    return checkDtype(file, await ckpt.read(v), where);
  };
  const root = ckpt.root;
  if (isTorchTensor(root)) return { file, format: 'tensor', embedding: await load(root, 'the file') };
  if (!(root instanceof Map)) throw formatError(file, 'holds neither a tensor nor a dict', FORMATS_HINT);
  if (root.has('string_to_param')) {
    let params = root.get('string_to_param');
    // Saved by torch 1.11, string_to_param is an nn.ParameterDict whose `_parameters` hold the tensors.
    if (params instanceof PyObject && params.state instanceof Map) params = params.state.get('_parameters');
    if (!(params instanceof Map) || !params.has('*')) throw formatError(file, 'A1111 format without string_to_param["*"]', FORMATS_HINT);
    const name = root.get('name');
    if (typeof name !== 'string' || name.length === 0) throw formatError(file, 'A1111 format without a "name"', 'pass the token explicitly ({ token: "..." })');
    return { file, format: 'a1111', token: name, embedding: await load(params.get('*')!, 'string_to_param["*"]') };
  }
  const [token, value] = single(file, [...root.entries()], root.has('clip_l') && root.has('clip_g'));
  if (typeof token !== 'string') throw formatError(file, 'the one key is not a string', FORMATS_HINT);
  return { file, format: 'diffusers', token, embedding: await load(value, `"${token}"`) };
}

function fromSafetensors(file: string, bytes: Uint8Array): EmbeddingFile {
  const n = headerLength(bytes, bytes.byteLength, file);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.byteLength, file);
  const entries = [...header.entries.values()];
  const [token, entry] = single(file, entries.map((e) => [e.key, e] as const), header.entries.has('clip_l') && header.entries.has('clip_g'));
  const tensor = tensorFromBytes(entry, bytes.subarray(entry.begin, entry.end));
  return { file, format: 'diffusers', token: token as string, embedding: checkDtype(file, tensor, `"${String(token)}"`) };
}

/** diffusers' rule for dicts without string_to_param: exactly one entry, the token and its vectors. */
function single<K, V>(file: string, entries: (readonly [K, V])[], sdxl: boolean): readonly [K, V] {
  if (entries.length === 1) return entries[0];
  if (entries.length === 0) throw formatError(file, 'holds no tensors', 'the file is not an embedding (or an empty one); download it again', 'EMBEDDING_EMPTY');
  if (sdxl) throw formatError(file, 'an SDXL embedding (clip_l and clip_g); SD 1.x / 2.x text encoders cannot use it', 'use an embedding trained for your model family', 'EMBEDDING_WIDTH');
  const keys = entries.slice(0, 5).map(([k]) => (typeof k === 'string' ? JSON.stringify(k) : describe(k))).join(', ');
  throw formatError(file, `a dict with ${entries.length} entries (${keys}${entries.length > 5 ? ', ...' : ''}); an embedding has one token (or "string_to_param")`, FORMATS_HINT);
}

function checkDtype(file: string, t: Tensor, where: string): Tensor<'float32'> {
  if (t.dtype !== 'float32' && t.dtype !== 'float16' && t.dtype !== 'bfloat16' && t.dtype !== 'float64') {
    throw formatError(file, `${where} has dtype ${t.dtype}; embeddings are floating point`, FORMATS_HINT, 'EMBEDDING_DTYPE');
  }
  return t.toFloat32();
}
