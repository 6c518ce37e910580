// A weight source over ready references: the state_dict of a .ckpt (its TorchTensorRefs point
// into the zip's stored entries) and one component of a single-file checkpoint after the LDM →
// diffusers renaming. A rename keeps the reference; a split or squeeze derives a new one:
//
//   rows(ref, 8, 16)          rows [8, 16) of a [24, 8] tensor: the offset moves by 8 rows, no copy
//   reshaped(ref, [C, C])     a [C, C, 1, 1] 1x1-conv weight seen as a linear weight: same bytes

import { dtypeSize } from '../core/dtype.js';
import { fmtShape, LatentlabError } from '../core/errors.js';
import { type ExternalTensor, isExternal, type WeightData } from '../core/external.js';
import type { Tensor } from '../core/tensor.js';
import { closestKey } from './similar.js';
import { readWeightData, type WeightInfo, type WeightSource } from './source.js';

export class RefSource implements WeightSource {
  readonly keys: readonly string[];

  constructor(
    private readonly refs: ReadonlyMap<string, WeightData>,
    /** For messages, e.g. "model.ckpt (unet, LDM keys renamed to diffusers')". */
    private readonly label: string,
    readonly paths: readonly string[],
  ) {
    this.keys = [...refs.keys()];
  }

  has(key: string): boolean {
    return this.refs.has(key);
  }

  info(key: string): WeightInfo {
    return this.ref(key);
  }

  ref(key: string): WeightData {
    const r = this.refs.get(key);
    if (!r) {
      const near = closestKey(key, this.keys);
      throw new LatentlabError('WEIGHTS_MISSING', `no tensor named "${key}" in ${this.label}${near ? `; did you mean "${near}"?` : ''}`, { file: this.paths[0], key });
    }
    return r;
  }

  read(key: string): Promise<Tensor> {
    return readWeightData(this.ref(key));
  }

  describe(): string {
    return this.label;
  }
}

/** Rows [start, end) along the first dimension (the bytes of a row are contiguous). */
export function rows(ref: WeightData, start: number, end: number): WeightData {
  if (!isExternal(ref)) return (ref as Tensor).slice0(start, end);
  const rowBytes = ref.shape.slice(1).reduce((a, d) => a * d, 1) * dtypeSize(ref.dtype);
  return external(ref, [end - start, ...ref.shape.slice(1)], ref.offset + start * rowBytes, (end - start) * rowBytes);
}

/** The same bytes under another shape of the same size. */
export function reshaped(ref: WeightData, shape: readonly number[]): WeightData {
  const n = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);
  if (n(shape) !== n(ref.shape)) throw new LatentlabError('WEIGHTS_SHAPE', `cannot view a ${fmtShape(ref.shape)} tensor as ${fmtShape(shape)}`);
  if (!isExternal(ref)) return (ref as Tensor).reshape(shape);
  return external(ref, shape, ref.offset, ref.length);
}

// Built field by field: a TorchTensorRef computes dtype, offset and length in getters, which a spread would drop.
function external(ref: ExternalTensor, shape: readonly number[], offset: number, length: number): ExternalTensor {
  return { kind: 'external', dtype: ref.dtype, shape: [...shape], file: ref.file, offset, length };
}
