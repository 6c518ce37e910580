// Which files of a diffusers pipeline repo latentlab needs, decided from a file listing alone (the
// Hub's `siblings`, or the files of a cached snapshot), the way diffusers' `DiffusionPipeline.download`
// decides it with `use_safetensors=True` (pipeline_loading_utils.variant_compatible_siblings):
//
// - model_index.json, then only the components the caller loads (default: text_encoder, tokenizer,
//   unet, vae, scheduler) — never safety_checker, feature_extractor, image_encoder, and never a
//   component that model_index.json sets to [null, null];
// - in each component folder every non-weight file (config.json, scheduler_config.json, vocab.json,
//   merges.txt, ...), and weights in safetensors only (no .bin, .ckpt, .msgpack, .onnx, ...);
// - weights of the requested variant, per component: a component that has variant files uses them
//   (`unet/diffusion_pytorch_model.fp16.safetensors`, or the variant index + its shards, or the legacy
//   `...-00001-of-00002.fp16.safetensors` names); a component that has none falls back to its default
//   files (diffusers then warns "a mixture of fp16 and non-fp16 filenames will be loaded"); if no
//   component has the variant at all, diffusers raises "You are trying to load model files of the
//   `variant=fp16`, but no such modeling files are available" — `variantFound` says which case it is;
// - where a component has both a single file and a sharded index, only the index (latentlab's
//   weights/discovery.ts loads the index first, so the single file would be dead weight). The shards are
//   whatever the index's weight_map names, so they are added once the index itself is local
//   (./snapshot.ts), not guessed from file names.

import type { ComponentSpec, ModelIndex } from '../weights/diffusers.js';

/** The components a Stable Diffusion pipeline loads; the others in model_index.json are skipped. */
export const SD_COMPONENTS: readonly string[] = ['text_encoder', 'tokenizer', 'unet', 'vae', 'scheduler'];

export interface SelectOptions {
  variant?: string;
  components?: readonly string[];
}

export interface ComponentWeights {
  readonly component: string;
  /** File name (in the component folder) of the single weights file or the shard index chosen. */
  readonly file?: string;
  /** True when `file` is a `*.safetensors.index*.json` (its shards are needed too). */
  readonly sharded: boolean;
  /** A variant was requested and this component has none: default weights are used. */
  readonly fellBack: boolean;
  /** The component's other weight files (pickle, other variants), named in errors when `file` is undefined. */
  readonly unusable: readonly string[];
  /** What the default file name would be: `unet/diffusion_pytorch_model.fp16.safetensors`. */
  readonly expected: string;
}

export interface Selection {
  /** Repo paths to use, sorted, model_index.json first (shards of a sharded index not included). */
  readonly files: readonly string[];
  /** Components used, with their weights (only those that carry weights). */
  readonly weights: readonly ComponentWeights[];
  /** Non-weight files each component must have (`unet/config.json`, `tokenizer/vocab.json`, ...). */
  readonly required: readonly string[];
  /** The requested variant exists in at least one component (true when no variant was asked). */
  readonly variantFound: boolean;
  /** Components listed by the caller that model_index.json does not have (or sets to null). */
  readonly absent: readonly string[];
}

const SHARD = String.raw`-\d+-of-\d+`;
const STEMS = '(?:diffusion_pytorch_model|model)';
// Weight formats latentlab does not read: never downloaded.
const OTHER_WEIGHTS = /\.(bin|ckpt|pt|pth|pkl|msgpack|h5|onnx|onnx_data|pb|ot|gguf)$|\.(bin|msgpack)\.index(\.[^.]+)?\.json$/;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Regexes for the default and (if any) variant safetensors names, diffusers' spelling. */
function weightPatterns(variant: string | undefined) {
  const re = (body: string) => new RegExp(`^${STEMS}${body}$`);
  const v = variant === undefined ? undefined : escapeRe(variant);
  const forVariant = (body: (v: string) => string) => (v === undefined ? undefined : re(body(v)));
  return {
    single: re(String.raw`\.safetensors`),
    shard: re(String.raw`${SHARD}\.safetensors`),
    index: re(String.raw`\.safetensors\.index\.json`),
    vSingle: forVariant((x) => String.raw`\.${x}\.safetensors`),
    vShard: forVariant((x) => String.raw`\.${x}${SHARD}\.safetensors`),
    vIndex: forVariant((x) => String.raw`\.safetensors\.index\.${x}\.json`),
    legacyShard: forVariant((x) => String.raw`${SHARD}\.${x}\.safetensors`),
    legacyIndex: forVariant((x) => String.raw`\.safetensors\.${x}\.index\.json`),
  };
}

function isWeightFile(name: string): boolean {
  return name.endsWith('.safetensors') || /\.safetensors\.(index\.)?([^.]+\.)?(index\.)?json$/.test(name) || OTHER_WEIGHTS.test(name);
}

/** Does a component of this class carry weights (models do; schedulers, tokenizers, processors do not)? */
function expectsWeights(spec: ComponentSpec): boolean {
  return !/(Scheduler|Tokenizer|TokenizerFast|Processor|FeatureExtractor)$/.test(spec.className);
}

/** The non-weight files a component cannot load without. */
function requiredFiles(name: string, spec: ComponentSpec): string[] {
  if (spec.className.endsWith('Scheduler')) return [`${name}/scheduler_config.json`];
  if (/^CLIPTokenizer(Fast)?$/.test(spec.className)) return [`${name}/vocab.json`, `${name}/merges.txt`];
  if (expectsWeights(spec)) return [`${name}/config.json`];
  return [];
}

/** Picks, from one component's file names, the weights diffusers would load (see the header). */
function chooseWeights(component: string, spec: ComponentSpec, names: readonly string[], variant: string | undefined): ComponentWeights {
  const p = weightPatterns(variant);
  const matching = (...res: (RegExp | undefined)[]) => names.filter((n) => res.some((re) => re?.test(n)));
  const modern = matching(p.vSingle, p.vShard, p.vIndex);
  const legacy = matching(p.legacyShard, p.legacyIndex);
  const variantFiles = modern.length > 0 ? modern : legacy;
  const fellBack = variant !== undefined && variantFiles.length === 0;
  const candidates = variant !== undefined && !fellBack ? variantFiles : matching(p.single, p.shard, p.index);
  // An index wins over a single file; shard files alone (no index) cannot be loaded.
  const index = candidates.find((n) => n.endsWith('.json'));
  const file = index ?? candidates.find((n) => !new RegExp(SHARD).test(n));
  const unusable = names.filter((n) => isWeightFile(n) && !candidates.includes(n));
  const stem = spec.library === 'transformers' ? 'model' : 'diffusion_pytorch_model';
  return {
    component,
    file,
    sharded: index !== undefined,
    fellBack: fellBack && file !== undefined,
    unusable,
    expected: `${component}/${stem}${variant ? `.${variant}` : ''}.safetensors`,
  };
}

/** The files of `listing` (repo-relative paths) that the pipeline needs; see the header. */
export function selectPipelineFiles(listing: readonly string[], modelIndex: ModelIndex, options: SelectOptions = {}): Selection {
  const { variant } = options;
  const byComponent = new Map<string, string[]>();
  for (const path of listing) {
    const parts = path.split('/');
    // diffusers groups by `component/file`; deeper files are not part of a component's save_pretrained.
    if (parts.length !== 2) continue;
    const names = byComponent.get(parts[0]) ?? [];
    names.push(parts[1]);
    byComponent.set(parts[0], names);
  }
  const files = ['model_index.json'];
  const weights: ComponentWeights[] = [];
  const required: string[] = [];
  const absent: string[] = [];
  for (const component of options.components ?? SD_COMPONENTS) {
    const spec = modelIndex.components.get(component);
    if (!spec) {
      absent.push(component);
      continue;
    }
    const names = byComponent.get(component) ?? [];
    required.push(...requiredFiles(component, spec));
    files.push(...names.filter((n) => !isWeightFile(n)).map((n) => `${component}/${n}`));
    if (!expectsWeights(spec) && !names.some(isWeightFile)) continue;
    const chosen = chooseWeights(component, spec, names, variant);
    weights.push(chosen);
    if (chosen.file) files.push(`${component}/${chosen.file}`);
  }
  const variantFound = variant === undefined || weights.some((w) => w.file !== undefined && !w.fellBack);
  return { files: [files[0], ...files.slice(1).sort()], weights, required, variantFound, absent };
}
