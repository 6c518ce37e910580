// The models a server may run, chosen by their listed names only: a request never names a path
// (`sd_model_checkpoint: "../../etc"` is simply not on the list). Each is loaded on first use and
// kept, its sessions alive between requests (releaseSessions: false; the SessionCache leases make
// that safe for requests running at once). txt2img, img2img and inpainting share one set of
// components; an inpainting model (9-channel UNet) has the inpainting pipeline only.
//
// LoRAs (`--lora-dir`, `<lora:name:w>` tags) change a model's UNet and text encoder graphs, so a
// model's LoRA set is a shared state: requests wanting the same set run together, one wanting
// another waits until they are done and then switches it (LoraGate).

import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';

import {
  embeddingShortHash, type EmbeddingReport, LatentlabError, listEmbeddingFiles, loadTextualInversion, loadPipelineComponents, loadSingleFileComponents, type PipelineComponents, StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline,
  StableDiffusionPipeline,
} from '../node.js';

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
  /** Absent for an inpainting model (its UNet takes the mask too). */
  txt2img?: StableDiffusionPipeline;
  img2img?: StableDiffusionImg2ImgPipeline;
  inpaint: StableDiffusionInpaintPipeline;
  loras: LoraGate;
  /** The --embeddings-dir files this model took (their tokens usable in prompts), and those it refused. */
  embeddings: EmbeddingReport[];
  skippedEmbeddings: { name: string; file: string; reason: string }[];
}

export interface ModelHostOptions {
  threads?: number;
  /** Where `<lora:name:w>` finds name.safetensors (A1111's models/Lora). */
  loraDir?: string;
  /** Textual-inversion embeddings loaded into every model, each by its file name (A1111's embeddings/). */
  embeddingsDir?: string;
}

/** A LoRA file of --lora-dir: `name` is what a prompt tag names (the file name without .safetensors). */
export interface ListedLora {
  name: string;
  file: string;
}

/**
 * Runs work under one LoRA set at a time: `run(key, apply, fn)` runs fn at once when the model has
 * that set (or nothing runs: then `apply` switches it), else queues. Queued work is admitted in
 * order when the running work is done — the first one's set, and with it every queued request
 * wanting the same set — so a steady stream of one set cannot starve another.
 */
export class LoraGate {
  private key = '';
  private running = 0;
  private applying: Promise<void> = Promise.resolve();
  private queue: { key: string; apply: () => Promise<void>; admit: () => void }[] = [];

  async run<T>(key: string, apply: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
    if (this.queue.length === 0 && (this.key === key || this.running === 0)) this.enter(key, apply);
    else await new Promise<void>((admit) => this.queue.push({ key, apply, admit }));
    try {
      await this.applying;
      return await fn();
    } finally {
      if (--this.running === 0) this.admitNext();
    }
  }

  /** Synchronous, so nothing can slip in between the admission and the switch. */
  private enter(key: string, apply: () => Promise<void>): void {
    if (this.key !== key) {
      this.key = key;
      this.applying = apply().catch((e: unknown) => {
        this.key = '\u0000unapplied'; // the next request applies its set again
        throw e;
      });
    }
    this.running++;
  }

  private admitNext(): void {
    if (this.queue.length === 0) return;
    const key = this.queue[0].key;
    const now = this.queue.filter((q) => q.key === key);
    this.queue = this.queue.filter((q) => q.key !== key);
    for (const q of now) {
      this.enter(q.key, q.apply);
      q.admit();
    }
  }
}

export class ModelHost {
  private readonly loaded = new Map<string, Promise<LoadedModel>>();
  /** The checkpoint requests use unless they override it (A1111's sd_model_checkpoint option). */
  current: ListedModel;
  /** UI settings written through POST /sdapi/v1/options (a1111-routes.ts STORED_OPTIONS). */
  readonly options: Record<string, unknown> = {};

  private constructor(readonly models: readonly ListedModel[], private readonly settings: ModelHostOptions) {
    this.current = models[0];
  }

  get embeddingsDir(): string | undefined {
    return this.settings.embeddingsDir;
  }

  get loraDir(): string | undefined {
    return this.settings.loraDir;
  }

  /** The .safetensors files of --lora-dir (read at each call, like A1111's refresh), sorted by name. */
  async loras(): Promise<ListedLora[]> {
    const dir = this.settings.loraDir;
    if (dir === undefined) return [];
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isFile() && /\.safetensors$/i.test(e.name))
      .map((e) => ({ name: e.name.replace(/\.safetensors$/i, ''), file: join(resolve(dir), e.name) }))
      .sort((a, b) => a.name.localeCompare(b.name));
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
    const o = { releaseSessions: false, threads: this.settings.threads };
    const c: PipelineComponents = model.singleFile ? await loadSingleFileComponents(model.path, o) : await loadPipelineComponents(model.path, o);
    const { embeddings, skippedEmbeddings } = await this.loadEmbeddings(c);
    const inpaint = new StableDiffusionInpaintPipeline(c);
    const plain = inpaint.unetInputKind === 'blend'; // a 4-channel UNet: txt2img and img2img too
    return {
      model, inpaint, loras: new LoraGate(), embeddings, skippedEmbeddings,
      txt2img: plain ? new StableDiffusionPipeline(c) : undefined, img2img: plain ? new StableDiffusionImg2ImgPipeline(c) : undefined,
    };
  }

  /**
   * --embeddings-dir into one model's tokenizer and text encoder, file by file, as the CLI's flag
   * (tokens = file names, in sorted order): a file this model cannot take (another model's vector
   * size, a token it has) is skipped, as A1111 lists it under `skipped`, rather than failing the model.
   */
  private async loadEmbeddings(c: PipelineComponents): Promise<Pick<LoadedModel, 'embeddings' | 'skippedEmbeddings'>> {
    const out: Pick<LoadedModel, 'embeddings' | 'skippedEmbeddings'> = { embeddings: [], skippedEmbeddings: [] };
    if (this.settings.embeddingsDir === undefined) return out;
    for (const file of await listEmbeddingFiles(this.settings.embeddingsDir)) {
      const name = basename(file, extname(file));
      try {
        const [l] = await loadTextualInversion(c.tokenizer, c.textEncoder, file, { token: name });
        out.embeddings.push({ file, token: l.token, tokens: l.tokens, ids: l.ids, hash: await embeddingShortHash(file) });
      } catch (e) {
        if (!(e instanceof LatentlabError)) throw e;
        out.skippedEmbeddings.push({ name, file, reason: e.message });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    for (const l of this.loaded.values()) await (await l.catch(() => undefined))?.inpaint.release();
    this.loaded.clear();
  }
}
