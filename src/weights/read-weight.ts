// A weight's values in memory, wherever they live: the starting point of a trainable weight
// (CompileOptions.trainable feeds it each run, so the optimizer needs a float32 copy).

import { isExternal, WeightData } from '../core/external.js';
import type { Tensor } from '../core/tensor.js';
import { readWeightData } from './source.js';

/** The weight as a float32 host tensor (a new copy; float16/bfloat16 files are widened). */
export async function readWeight(data: WeightData): Promise<Tensor<'float32'>> {
  if (!isExternal(data)) return data.toFloat32().clone();
  const t = await readWeightData(data);
  return t.dtype === 'float32' ? (t as Tensor<'float32'>) : t.toFloat32(); // the bytes were just read: already a private copy
}
