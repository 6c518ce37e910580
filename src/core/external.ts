// A tensor that stays in its file: what ONNX initializers point at as external data, so a
// checkpoint's weights are used in place (no second copy on disk, none in JS memory).

import type { DType } from './dtype.js';
import type { Tensor } from './tensor.js';

export interface ExternalTensor {
  readonly kind: 'external';
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Path of the file as the user gave it (may be a symlink, as in the Hugging Face cache). */
  readonly file: string;
  /** Absolute byte offset of the first element in the file. */
  readonly offset: number;
  /** Byte length (= numel × dtype size). */
  readonly length: number;
}

/** A weight's data: in a file (the normal case) or in memory (tests, new embeddings). */
export type WeightData = ExternalTensor | Tensor;

export function isExternal(w: WeightData): w is ExternalTensor {
  return (w as ExternalTensor).kind === 'external';
}
