// Any file of tensors as one flat weight source under its own keys: a .safetensors file (header
// only) or a torch.save file (.ckpt / .pt / .pth / .bin) read by the safe pickle reader, whose
// tensors are references into the zip's stored entries. A .ckpt usually wraps the tensors as
// {"state_dict": {...}, "global_step": N}; a bare state dict works too.

import { fmtValue, LatentlabError } from '../../core/errors.js';
import type { WeightData } from '../../core/external.js';
import { isDict, type PickleValue } from '../pickle/values.js';
import { RefSource } from '../ref-source.js';
import type { WeightSource } from '../source.js';
import { TorchCheckpoint } from '../torch/checkpoint.js';
import { isTorchTensor } from '../torch/rebuild.js';
import { WeightSet } from '../weight-set.js';

export interface CheckpointSource {
  source: WeightSource;
  format: 'safetensors' | 'ckpt';
  /** The training step a .ckpt records (diffusers reads SD 2 base's 875000 as "epsilon"). */
  globalStep?: number;
  /** safetensors `__metadata__` (kohya's ss_* fields, diffusers' format), when present. */
  metadata?: Readonly<Record<string, string>>;
}

export const TORCH_EXTENSIONS = ['.ckpt', '.pt', '.pth', '.bin'];

export async function openCheckpointSource(path: string): Promise<CheckpointSource> {
  const lower = path.toLowerCase();
  if (lower.endsWith('.safetensors')) {
    const set = await WeightSet.open([path]);
    return { source: set, format: 'safetensors', metadata: set.files[0].header.metadata };
  }
  if (!TORCH_EXTENSIONS.some((e) => lower.endsWith(e))) {
    throw new LatentlabError('SINGLE_FILE_FORMAT', `${path}: unknown file type; expected .safetensors or a PyTorch file (${TORCH_EXTENSIONS.join(', ')})`, {
      file: path, hint: 'rename the file to its format\'s extension, or pass a diffusers folder',
    });
  }
  const ckpt = await TorchCheckpoint.open(path);
  const root = ckpt.root;
  const dict = isDict(root) && isDict(root.get('state_dict')) ? (root.get('state_dict') as Map<unknown, PickleValue>) : root;
  if (!isDict(dict)) {
    throw new LatentlabError('SINGLE_FILE_NOT_A_CHECKPOINT', `${path} holds ${fmtValue(typeof root)}, not a state dict (a dict of tensors)`, {
      file: path, hint: 'pass a checkpoint saved with torch.save(model.state_dict()) or {"state_dict": ...}',
    });
  }
  const refs = new Map<string, WeightData>();
  for (const [key, value] of dict) if (typeof key === 'string' && isTorchTensor(value)) refs.set(key, value);
  const step = isDict(root) ? root.get('global_step') : undefined;
  return { source: new RefSource(refs, path, [path]), format: 'ckpt', globalStep: typeof step === 'number' ? step : undefined };
}
