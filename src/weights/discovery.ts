// Which files hold a component's weights: the file names diffusers (0.27 and later) and
// transformers look for in a model folder.
//
//   single file   <stem>.safetensors               variant: <stem>.<variant>.safetensors
//   sharded       <stem>.safetensors.index.json    variant: <stem>.safetensors.index.<variant>.json
//                                                  legacy:  <stem>.safetensors.<variant>.index.json
//
// <stem> is `diffusion_pytorch_model` for diffusers models (unet, vae) and `model` for
// transformers models (text_encoder). The variant is inserted before the last extension
// (diffusers' and transformers' `_add_variant`). The legacy sharded-variant index name is the one
// diffusers wrote before it aligned with transformers; it still loads it (with a deprecation
// warning), so we do too. Shard files are whatever the index's weight_map names (typically
// `<stem>.<variant>-00001-of-00002.safetensors`). As in diffusers, an index wins over a single file
// of the same variant, and safetensors wins over pickle (`.bin`), which latentlab cannot read yet.

import { LatentlabError } from '../core/errors.js';
import { fileSystem } from '../core/io.js';
import { WeightSet } from './weight-set.js';

export type WeightStem = 'diffusion_pytorch_model' | 'model';
const STEMS: readonly WeightStem[] = ['diffusion_pytorch_model', 'model'];

export interface FindWeightsOptions {
  /** e.g. "fp16": load `<stem>.fp16.safetensors` (or its sharded form) instead of `<stem>.safetensors`. */
  variant?: string;
  /** Which stem to try first (diffusers models: diffusion_pytorch_model; transformers: model). */
  stem?: WeightStem;
}

export interface WeightFiles {
  readonly folder: string;
  readonly variant?: string;
  readonly format: 'single' | 'sharded';
  /** The safetensors file (single) or the index file (sharded). */
  readonly path: string;
}

interface Found {
  readonly name: string;
  readonly kind: 'single' | 'index' | 'legacy-index' | 'pickle';
  readonly variant?: string;
}

const SHARD = /-\d+-of-\d+/;
const PICKLE = /\.(bin|ckpt|pt|pth|pkl)$|\.bin\.index(\.[^.]+)?\.json$/;

/** Classifies one file name of a component folder (undefined: not a weight file we know). */
function classify(name: string): Found | undefined {
  for (const stem of STEMS) {
    if (!name.startsWith(`${stem}.`)) continue;
    const rest = name.slice(stem.length + 1);
    if (rest === 'safetensors') return { name, kind: 'single' };
    let m = /^([^.]+)\.safetensors$/.exec(rest);
    if (m && !SHARD.test(m[1])) return { name, kind: 'single', variant: m[1] };
    if (rest === 'safetensors.index.json') return { name, kind: 'index' };
    if ((m = /^safetensors\.index\.([^.]+)\.json$/.exec(rest))) return { name, kind: 'index', variant: m[1] };
    if ((m = /^safetensors\.([^.]+)\.index\.json$/.exec(rest))) return { name, kind: 'legacy-index', variant: m[1] };
  }
  if (PICKLE.test(name)) return { name, kind: 'pickle', variant: /^[^.]+\.([^.]+)\.bin$/.exec(name)?.[1] };
  return undefined;
}

/** Finds the weight files of the component in `folder` (throws a WEIGHTS_* error explaining what is there instead). */
export async function findWeightFiles(folder: string, options: FindWeightsOptions = {}): Promise<WeightFiles> {
  const fs = fileSystem();
  const st = await fs.stat(folder);
  if (!st?.isDirectory) throw new LatentlabError('IO_NOT_FOUND', `${folder}: no such folder`, { file: folder });
  const names = (await fs.list(folder)).sort();
  const found = names.map(classify).filter((f): f is Found => f !== undefined);
  const { variant } = options;
  const stems = options.stem ? [options.stem, ...STEMS.filter((s) => s !== options.stem)] : STEMS;
  for (const stem of stems) {
    const mine = found.filter((f) => f.name.startsWith(`${stem}.`) && f.variant === variant);
    const pick = mine.find((f) => f.kind === 'index') ?? mine.find((f) => f.kind === 'legacy-index') ?? mine.find((f) => f.kind === 'single');
    if (pick) return { folder, variant, format: pick.kind === 'single' ? 'single' : 'sharded', path: fs.join(folder, pick.name) };
  }
  throw notFound(folder, names, found, variant);
}

/** Finds and opens the weights of the component in `folder`. */
export async function openWeights(folder: string, options: FindWeightsOptions = {}): Promise<WeightSet> {
  const files = await findWeightFiles(folder, options);
  return files.format === 'sharded' ? WeightSet.openSharded(files.path) : WeightSet.open([files.path]);
}

function notFound(folder: string, names: readonly string[], found: readonly Found[], variant: string | undefined): LatentlabError {
  const listing = names.length > 0 ? names.slice(0, 20).join(', ') + (names.length > 20 ? `, … (${names.length} files)` : '') : 'nothing';
  const safeVariants = [...new Set(found.filter((f) => f.kind !== 'pickle').map((f) => f.variant ?? 'default'))];
  const pickles = found.filter((f) => f.kind === 'pickle');
  const want = variant ? `variant "${variant}"` : 'the default (no variant)';
  const sameVariantPickle = pickles.some((f) => f.variant === variant);
  if (pickles.length > 0 && (sameVariantPickle || safeVariants.length === 0)) {
    return new LatentlabError('WEIGHTS_PICKLE_ONLY',
      `${folder} has no .safetensors weights for ${want}, only PyTorch pickle files (${pickles.map((f) => f.name).join(', ')}); `
        + `latentlab reads safetensors only (pickle support is planned)${safeVariants.length > 0 ? `. Safetensors exist for variants: ${safeVariants.join(', ')}` : ''}`,
      {
        file: folder,
        hint: 'convert the folder once with diffusers: `python -c "from diffusers import DiffusionPipeline as P; '
          + 'P.from_pretrained(\'<in>\').save_pretrained(\'<out>\', safe_serialization=True)"` (for a single model use its class, '
          + 'e.g. UNet2DConditionModel), or download the safetensors files of the model if the hub has them',
      });
  }
  if (safeVariants.length > 0) {
    const code = variant ? 'WEIGHTS_VARIANT_MISSING' : 'WEIGHTS_NOT_FOUND';
    return new LatentlabError(code, `${folder} has no weights for ${want}; variants available: ${safeVariants.join(', ')} ("default" = no variant; files: ${listing})`, {
      file: folder,
      hint: safeVariants.includes('default')
        ? `drop the variant option to load the default weights${safeVariants.length > 1 ? `, or choose one of ${safeVariants.filter((v) => v !== 'default').join(', ')}` : ''}`
        : `pass variant: "${safeVariants[0]}"${safeVariants.length > 1 ? ` (or ${safeVariants.slice(1).join(', ')})` : ''}`,
    });
  }
  return new LatentlabError('WEIGHTS_NOT_FOUND', `${folder} has no weight files (found: ${listing}); expected diffusion_pytorch_model.safetensors, model.safetensors or a *.safetensors.index.json`, {
    file: folder, hint: 'point at a component folder of a diffusers pipeline (unet, vae, text_encoder), or download its weights',
  });
}
