// A weight source: whatever hands a model its tensors by checkpoint key — a diffusers folder's
// .safetensors files (WeightSet), one component of a single-file checkpoint seen through the
// LDM → diffusers key renaming (renamed-source.ts), the state_dict of a .ckpt (torch-source.ts).
// The binder (bind.ts) and the models consume only this interface, so a component is built from
// (config, source) whatever file the tensors are in.
//
// Tensors stay in place: `ref(key)` is an ExternalTensor (file, byte offset, length, dtype, shape)
// that the ONNX lowering turns into an external-data initializer, so no bytes are read or copied
// until ONNX Runtime maps the file. In-memory sources (tests) return a Tensor instead.

import type { DType } from '../core/dtype.js';
import { isExternal, type WeightData } from '../core/external.js';
import { fileSystem } from '../core/io.js';
import type { Tensor } from '../core/tensor.js';
import { tensorFromBytes } from './safetensors.js';

/** What a header tells about one tensor, without its bytes. */
export interface WeightInfo {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export interface WeightSource {
  /** Every tensor name, in the source's order. */
  readonly keys: readonly string[];
  has(key: string): boolean;
  /** dtype and shape (no bytes read); a missing key is a LatentlabError naming the source. */
  info(key: string): WeightInfo;
  /** The in-place reference (or the tensor itself for in-memory sources). */
  ref(key: string): WeightData;
  /** The tensor in memory, in its stored dtype. */
  read(key: string): Promise<Tensor>;
  /** For messages: "unet/diffusion_pytorch_model.safetensors", "model.ckpt (unet, LDM keys renamed)". */
  describe(): string;
  /** The files the source reads from (the first is named in errors). */
  readonly paths: readonly string[];
}

/** Reads the bytes a WeightData points at (a copy) or returns the in-memory tensor. */
export async function readWeightData(data: WeightData): Promise<Tensor> {
  if (!isExternal(data)) return data;
  const bytes = await fileSystem().readBytes(data.file, data.offset, data.length);
  return tensorFromBytes({ key: '', dtype: data.dtype, shape: data.shape, begin: 0, end: data.length }, bytes);
}
