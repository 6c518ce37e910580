// A diffusers pipeline folder, as `DiffusionPipeline.save_pretrained` writes it and as a Hugging
// Face cache snapshot holds it (diffusers 0.27):
//
//   model_index.json          {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.27.2",
//                              "unet": ["diffusers", "UNet2DConditionModel"], "safety_checker": [null, null],
//                              "requires_safety_checker": false, ...}
//   unet/config.json          + weights (see ./discovery.ts)
//   scheduler/scheduler_config.json
//   tokenizer/vocab.json, merges.txt, ...
//
// Config files are written by Python's json module, so they may hold NaN / Infinity (./pyjson.ts).
// Configs are returned as parsed, in the JSON's own spelling; the model packages validate them.

import { fmtValue, LatentlabError } from '../core/errors.js';
import { fileSystem } from '../core/io.js';
import { findWeightFiles, openWeights, type FindWeightsOptions, type WeightFiles, type WeightStem } from './discovery.js';
import { JsonSyntaxError, parseJson } from './pyjson.js';
import type { WeightSet } from './weight-set.js';

/** `[library, class]` of a model_index.json entry, e.g. ["diffusers", "UNet2DConditionModel"]. */
export interface ComponentSpec {
  readonly library: string;
  readonly className: string;
}

export interface ModelIndex {
  /** `_class_name`, e.g. "StableDiffusionPipeline". */
  readonly className: string;
  readonly diffusersVersion?: string;
  /** Every component entry; null where the pipeline has none (`[null, null]`, e.g. safety_checker). */
  readonly components: ReadonlyMap<string, ComponentSpec | null>;
  /** The other fields (pipeline options such as `requires_safety_checker`), as written. */
  readonly options: Readonly<Record<string, unknown>>;
}

export type Config = Record<string, unknown>;

/** Reads a JSON config file written by Python (NaN / Infinity allowed); it must hold an object. */
export async function readConfigFile(path: string): Promise<Config> {
  const fs = fileSystem();
  if (!(await fs.stat(path))?.isFile) {
    throw new LatentlabError('CONFIG_MISSING', `${path}: no such file`, { file: path, hint: 'the model folder is incomplete: download it again' });
  }
  let raw: unknown;
  try {
    raw = parseJson(await fs.readText(path), { nonFinite: true });
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    throw new LatentlabError('CONFIG_BAD_JSON', `${path}: not valid JSON (${e.message})`, { file: path, hint: 'the file is corrupt or was hand-edited: fix it or download it again' });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new LatentlabError('CONFIG_BAD_JSON', `${path}: expected a JSON object, found ${fmtValue(raw)}`, { file: path });
  }
  return raw as Config;
}

/** Parses the content of a model_index.json (already read) into the pipeline class and its components. */
export function parseModelIndex(raw: Config, file: string): ModelIndex {
  const bad = (key: string, why: string): never => {
    throw new LatentlabError('DIFFUSERS_BAD_MODEL_INDEX', `${file}: ${why}`, { file, key, hint: 'the file is corrupt or hand-edited: download it again' });
  };
  const className = raw._class_name;
  if (typeof className !== 'string') bad('_class_name', `"_class_name" must be the pipeline class name, found ${fmtValue(className)}`);
  const components = new Map<string, ComponentSpec | null>();
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('_')) continue;
    // Components are [library, class] pairs; anything else (booleans, numbers) is a pipeline option.
    if (!Array.isArray(value)) {
      options[key] = value;
      continue;
    }
    const [library, cls] = value as unknown[];
    if (value.length !== 2 || !(typeof library === 'string' || library === null) || !(typeof cls === 'string' || cls === null)) {
      bad(key, `component "${key}" must be [library, class] (strings or nulls), found ${fmtValue(value)}`);
    }
    components.set(key, library === null || cls === null ? null : { library: library as string, className: cls as string });
  }
  const version = raw._diffusers_version;
  return { className: className as string, diffusersVersion: typeof version === 'string' ? version : undefined, components, options };
}

/** An opened diffusers pipeline folder (only model_index.json is read at open). */
export class DiffusersPipelineFolder {
  private constructor(
    readonly folder: string,
    readonly modelIndex: ModelIndex,
  ) {}

  static async open(folder: string): Promise<DiffusersPipelineFolder> {
    const fs = fileSystem();
    const st = await fs.stat(folder);
    if (!st?.isDirectory) {
      throw new LatentlabError('DIFFUSERS_NOT_FOUND', `${folder}: no such folder`, { file: folder, hint: 'pass the folder that holds model_index.json' });
    }
    const indexPath = fs.join(folder, 'model_index.json');
    if (!(await fs.stat(indexPath))?.isFile) throw await notAPipeline(folder);
    return new DiffusersPipelineFolder(folder, parseModelIndex(await readConfigFile(indexPath), indexPath));
  }

  /** Names of the components present (non-null entries of model_index.json). */
  get componentNames(): string[] {
    return [...this.modelIndex.components].filter(([, spec]) => spec !== null).map(([name]) => name);
  }

  component(name: string): ComponentSpec {
    const spec = this.modelIndex.components.get(name);
    if (!spec) {
      const why = spec === null ? 'is null in model_index.json (the pipeline has none)' : 'is not listed in model_index.json';
      throw new LatentlabError('DIFFUSERS_NO_COMPONENT', `${this.folder}: component "${name}" ${why}; components: ${this.componentNames.join(', ')}`, {
        file: fileSystem().join(this.folder, 'model_index.json'), key: name,
      });
    }
    return spec;
  }

  /** The sub-folder of a component, checked to exist. */
  async componentFolder(name: string): Promise<string> {
    const spec = this.component(name);
    const fs = fileSystem();
    const dir = fs.join(this.folder, name);
    if (!(await fs.stat(dir))?.isDirectory) {
      throw new LatentlabError('DIFFUSERS_COMPONENT_MISSING', `${this.folder}: model_index.json lists ${name} (${spec.className}) but the folder ${dir} does not exist`, {
        file: dir, key: name, hint: 'the download is incomplete: download the whole pipeline folder',
      });
    }
    return dir;
  }

  /** A component's config.json (scheduler_config.json for schedulers), parsed. */
  async config(name: string): Promise<Config> {
    const dir = await this.componentFolder(name);
    const fs = fileSystem();
    for (const file of ['config.json', 'scheduler_config.json']) {
      const path = fs.join(dir, file);
      if ((await fs.stat(path))?.isFile) return readConfigFile(path);
    }
    throw new LatentlabError('DIFFUSERS_CONFIG_MISSING', `${dir} has no config.json (nor scheduler_config.json)`, {
      file: dir, key: name, hint: 'the download is incomplete: download the whole pipeline folder',
    });
  }

  /** Which files hold a component's weights (variant / sharded / single), without opening them. */
  async weightFiles(name: string, options: Pick<FindWeightsOptions, 'variant'> = {}): Promise<WeightFiles> {
    return findWeightFiles(await this.componentFolder(name), { ...options, stem: this.stemOf(name) });
  }

  /** The weights of a component, headers read, ready to bind. */
  async weights(name: string, options: Pick<FindWeightsOptions, 'variant'> = {}): Promise<WeightSet> {
    return openWeights(await this.componentFolder(name), { ...options, stem: this.stemOf(name) });
  }

  private stemOf(name: string): WeightStem {
    return this.component(name).library === 'transformers' ? 'model' : 'diffusion_pytorch_model';
  }
}

/** The error for a folder without model_index.json, saying what the folder looks like instead. */
async function notAPipeline(folder: string): Promise<LatentlabError> {
  const fs = fileSystem();
  const names = await fs.list(folder);
  const base = `${folder} is not a diffusers pipeline folder: it has no model_index.json`;
  if (names.includes('config.json') || names.includes('scheduler_config.json')) {
    return new LatentlabError('DIFFUSERS_NOT_A_PIPELINE', `${base}; it looks like one component of a pipeline (it has ${names.includes('config.json') ? 'config.json' : 'scheduler_config.json'})`, {
      file: folder, hint: `pass the parent folder (${fs.dirname(folder)}), the one that holds model_index.json`,
    });
  }
  const single = names.filter((n) => /\.(safetensors|ckpt)$/.test(n));
  if (single.length > 0) {
    return new LatentlabError('DIFFUSERS_NOT_A_PIPELINE', `${base}; it holds ${single.join(', ')}, which look like single-file checkpoints (not supported yet)`, {
      file: folder, hint: 'convert with diffusers: StableDiffusionPipeline.from_single_file(path).save_pretrained(out_dir), then pass out_dir',
    });
  }
  const listing = names.length > 0 ? names.slice(0, 20).join(', ') : 'nothing';
  return new LatentlabError('DIFFUSERS_NOT_A_PIPELINE', `${base} (found: ${listing})`, {
    file: folder, hint: 'pass a folder saved by diffusers (save_pretrained) or a Hugging Face snapshot folder of a diffusers model',
  });
}
