// The models a server may run, chosen by their listed names only: a request never names a path
// (`sd_model_checkpoint: "../../etc"` is simply not on the list). Each is loaded on first use and
// kept, its sessions alive between requests (releaseSessions: false; the SessionCache leases make
// that safe for requests running at once). txt2img and img2img share one set of components.

import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';

import { LatentlabError, type PipelineComponents, StableDiffusionImg2ImgPipeline, StableDiffusionPipeline } from '../node.js';

export interface ListedModel {
  /** A1111's `model_name`: the folder's or file's name without extension. */
  name: string;
  /** A1111's `title` (name plus its short hash where A1111 has one; here the name). */
  title: string;
  path: string;
  singleFile: boolean;
}

export interface LoadedModel {
  model: ListedModel;
  txt2img: StableDiffusionPipeline;
  img2img: StableDiffusionImg2ImgPipeline;
}

export interface ModelHostOptions {
  threads?: number;
}

export class ModelHost {
  private readonly loaded = new Map<string, Promise<LoadedModel>>();
  /** The checkpoint requests use unless they override it (A1111's sd_model_checkpoint option). */
  current: ListedModel;

  private constructor(readonly models: readonly ListedModel[], private readonly options: ModelHostOptions) {
    this.current = models[0];
  }

  /** Lists the given folders / checkpoint files (the first is the default); every one must exist. */
  static async create(paths: readonly string[], options: ModelHostOptions = {}): Promise<ModelHost> {
    if (paths.length === 0) throw new LatentlabError('CLI_ARGUMENT', 'no --model given', { key: '--model', hint: 'pass --model DIR (a diffusers folder) or --model FILE.safetensors; repeat for several' });
    const models: ListedModel[] = [];
    for (const p of paths) {
      const st = await stat(p).catch(() => undefined);
      if (!st) throw new LatentlabError('IO_NOT_FOUND', `--model ${p}: no such folder or file`, { file: p, key: '--model', hint: 'give a local diffusers folder or checkpoint file' });
      const name = basename(resolve(p)).replace(/\.(safetensors|ckpt|pt|pth)$/, '');
      if (models.some((m) => m.name === name)) throw new LatentlabError('CLI_ARGUMENT', `--model ${p}: a model named ${JSON.stringify(name)} is already listed`, { key: '--model', hint: 'rename one of them' });
      models.push({ name, title: name, path: resolve(p), singleFile: st.isFile() });
    }
    return new ModelHost(models, options);
  }

  /** The listed model called `name` (its title or name), else a 422-worthy error naming the choices. */
  find(name: string, field = 'sd_model_checkpoint'): ListedModel {
    const m = this.models.find((x) => x.title === name || x.name === name);
    if (!m) {
      throw new LatentlabError('SERVER_REQUEST', `${field} is ${JSON.stringify(name)}; expected one of the listed models: ${this.models.map((x) => JSON.stringify(x.title)).join(', ')}`, {
        key: field, hint: 'GET /sdapi/v1/sd-models lists them; the server only runs models given to it with --model',
      });
    }
    return m;
  }

  /** The pipelines of `model` (default: the current one), loading them the first time. */
  async get(model: ListedModel = this.current): Promise<LoadedModel> {
    let l = this.loaded.get(model.name);
    if (!l) {
      l = this.load(model);
      this.loaded.set(model.name, l);
      l.catch(() => this.loaded.delete(model.name));
    }
    return l;
  }

  private async load(model: ListedModel): Promise<LoadedModel> {
    const o = { releaseSessions: false, threads: this.options.threads };
    const txt2img = model.singleFile ? await StableDiffusionPipeline.fromSingleFile(model.path, o) : await StableDiffusionPipeline.fromPretrained(model.path, o);
    const components: PipelineComponents = {
      folder: txt2img.folder, tokenizer: txt2img.tokenizer, textEncoder: txt2img.textEncoder, unet: txt2img.unet, vae: txt2img.vae,
      scheduler: txt2img.scheduler, schedulerConfig: txt2img.scheduler.config, releaseSessions: false,
    };
    return { model, txt2img, img2img: new StableDiffusionImg2ImgPipeline(components) };
  }

  async close(): Promise<void> {
    for (const l of this.loaded.values()) await (await l.catch(() => undefined))?.txt2img.release();
    this.loaded.clear();
  }
}
