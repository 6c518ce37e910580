// The latentlab explorer: the deep dive's notebook as one page, running Stable Diffusion in the
// browser on latentlab/web. Each panel is a cell of the notebook: prompt → tokens → embeddings,
// the scheduler's timesteps and σ, the step-by-step generation (pausable, steppable), img2img with
// its noised start, and the token-embedding swap. The model is a diffusers folder — a URL (the
// `?model=` query, default the `model/` folder `latentlab explore` serves) or a folder you open —
// or a Hub id (`?model=org/name`, from `?endpoint=` or huggingface.co, cached in the Cache API).

import {
  configureHub, configureWebRuntime, crossOriginThreads, decodeImage, encodePng, formatA1111Parameters, formatBytes, type HubProgressEvent, isHubModelId,
  LatentlabError, lastProviders, type RgbImage,
  schedulerFromPretrained, schedulerName, StableDiffusionPipeline, webFileSystem, webgpuAvailable,
} from 'latentlab/web';

import { $, drawImage, input, setStatus } from './draw.js';
import { showEmbeddings, showSchedule, showTokens } from './panels.js';
import { type Stepper, stepper } from './stepper.js';
import { runImg2Img, runSwap, runTxt2Img } from './runs.js';

/** What the tests (and a curious reader in the console) can see: `window.explorer`. */
export interface ExplorerState {
  ready: boolean;
  busy: boolean;
  /** The execution provider the last UNet session ran on ('wasm' or 'webgpu'). */
  provider?: string;
  threads: number;
  lastImage?: RgbImage;
  lastImg2Img?: RgbImage;
  steps: number[];
  /** performance.now() at each step of the last generation, and when it started (for the benchmark). */
  stepTimes: number[];
  startedAt: number;
  finishedAt: number;
  errors: string[];
  /** The last Hub load: the commit, bytes downloaded, whether it came from the Cache API alone; and its warnings. */
  hub?: { commit: string; downloadedBytes: number; offline: boolean; warnings: string[] };
  pipe?: StableDiffusionPipeline;
}

const state: ExplorerState = { ready: false, busy: false, threads: 1, steps: [], stepTimes: [], startedAt: 0, finishedAt: 0, errors: [] };
(globalThis as { explorer?: ExplorerState }).explorer = state;

const gate: Stepper = stepper();
let mountCount = 0;

function fail(e: unknown): void {
  const msg = e instanceof LatentlabError ? `${e.message}${e.hint ? ` — ${e.hint}` : ''}` : e instanceof Error ? e.message : String(e);
  state.errors.push(msg);
  setStatus(msg, 'error');
}

/** Runs one action with the controls locked, reporting errors in the status line. */
async function busy(label: string, action: () => Promise<void>): Promise<void> {
  if (state.busy) return;
  state.busy = true;
  for (const id of ['generate', 'img2img', 'swap', 'load-model']) ($(id) as HTMLButtonElement).disabled = true;
  setStatus(label, 'busy');
  try {
    await action();
    setStatus(`${label.replace(/…$/, '')}: done (${state.provider ?? 'wasm'}${state.provider === 'wasm' ? `, ${state.threads} thread${state.threads > 1 ? 's' : ''}` : ''})`);
  } catch (e) {
    fail(e);
  } finally {
    state.busy = false;
    for (const id of ['generate', 'swap', 'load-model']) ($(id) as HTMLButtonElement).disabled = false;
    ($('img2img') as HTMLButtonElement).disabled = !initImage;
  }
}

/** Progress of a Hub download in the status line; the outcome in state.hub. */
function hubProgress(): (e: HubProgressEvent) => void {
  const warnings: string[] = [];
  return (e) => {
    if (e.type === 'warning') warnings.push(e.message);
    else if (e.type === 'download') setStatus(`Downloading ${e.path}: ${formatBytes(e.doneBytes)} / ${formatBytes(e.totalBytes)}`, 'busy');
    else if (e.type === 'done') state.hub = { commit: e.commit, downloadedBytes: e.downloadedBytes, offline: e.offline, warnings };
  };
}

async function loadModel(source: { url: string } | { files: FileList }): Promise<void> {
  // A Hub id (org/name) goes to fromPretrained as it is: the web platform's Hub client fetches it.
  const hubId = 'url' in source && isHubModelId(source.url) ? source.url : undefined;
  const folder = hubId ?? `/models/${mountCount++}`;
  if (hubId) state.hub = undefined;
  else if ('url' in source) await webFileSystem.mountUrl(folder, source.url);
  else webFileSystem.mountFileList(folder, source.files);
  const device = (($('device') as HTMLSelectElement).value === 'webgpu' ? 'webgpu' : 'cpu') as 'cpu' | 'webgpu';
  if (device === 'webgpu' && !(await webgpuAvailable())) {
    throw new LatentlabError('DEVICE_UNAVAILABLE', 'this browser has no WebGPU adapter', { hint: 'choose WebAssembly' });
  }
  await state.pipe?.release();
  // ?computeDtype=float16: compute in float16 (for WebGPU with shader-f16; WebAssembly emulates it).
  const computeDtype = new URLSearchParams(location.search).get('computeDtype') === 'float16' ? 'float16' as const : undefined;
  state.pipe = await StableDiffusionPipeline.fromPretrained(folder, { releaseSessions: false, device, computeDtype, ...(hubId ? { onProgress: hubProgress() } : {}) });
  await fillSchedulers();
  await refreshPrompt();
  await refreshSchedule();
  state.ready = true;
}

async function fillSchedulers(): Promise<void> {
  const select = $('scheduler') as HTMLSelectElement;
  const own = schedulerName(state.pipe!.scheduler);
  const names = ['euler', 'euler-a', 'lms', 'ddim', 'pndm', 'dpm++2m', 'dpm++2m-karras', 'heun', 'unipc'];
  // '' is the model's own scheduler_config.json as it is; a name applies that sampler's options to it.
  select.replaceChildren(new Option(`${own} (the model's own)`, ''), ...names.map((n) => new Option(n, n)));
}

async function useScheduler(): Promise<void> {
  const pipe = state.pipe!;
  const name = ($('scheduler') as HTMLSelectElement).value;
  pipe.scheduler = await schedulerFromPretrained(pipe.folder, name ? { name } : {});
}

async function refreshPrompt(): Promise<void> {
  if (!state.pipe) return;
  const words = input('similar-words').value.split(/\s+/).filter(Boolean);
  await showEmbeddings(state.pipe, await showTokens(state.pipe, input('prompt').value), words);
}

async function refreshSchedule(): Promise<void> {
  if (!state.pipe) return;
  await useScheduler();
  showSchedule(state.pipe.scheduler, Number(input('steps').value));
}

function settings() {
  return {
    prompt: input('prompt').value,
    steps: Number(input('steps').value),
    guidanceScale: Number(input('guidance').value),
    seed: Number(input('seed').value),
  };
}

function offerDownload(image: RgbImage, parameters: string): void {
  const png = encodePng(image, { text: { parameters } });
  const link = $('download') as HTMLAnchorElement;
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' }));
  link.setAttribute('aria-disabled', 'false');
}

let initImage: RgbImage | undefined;

function wire(): void {
  const params = new URLSearchParams(location.search);
  const endpoint = params.get('endpoint');
  if (endpoint) configureHub({ endpoint });
  input('model-url').value = params.get('model') ?? 'model/';
  $('model-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void busy('Loading the model…', () => loadModel({ url: input('model-url').value }));
  });
  input('model-folder').addEventListener('change', () => {
    const files = input('model-folder').files;
    if (files?.length) void busy('Loading the model…', () => loadModel({ files }));
  });
  for (const id of ['prompt', 'similar-words']) $(id).addEventListener('input', () => void refreshPrompt().catch(fail));
  for (const id of ['scheduler', 'steps']) $(id).addEventListener('change', () => void refreshSchedule().catch(fail));
  for (const [range, out] of [['guidance', 'guidance-value'], ['strength', 'strength-value']]) {
    input(range).addEventListener('input', () => { $(out).textContent = input(range).value; });
  }
  const pause = $('pause');
  pause.addEventListener('click', () => {
    const paused = pause.getAttribute('aria-pressed') !== 'true';
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume' : 'Pause';
    ($('step') as HTMLButtonElement).disabled = !paused;
    gate.setPaused(paused);
  });
  $('step').addEventListener('click', () => gate.stepOnce());

  $('generate').addEventListener('click', () => void busy('Generating…', async () => {
    await refreshSchedule();
    const s = settings();
    state.steps = [];
    state.stepTimes = [];
    state.startedAt = performance.now();
    const image = await runTxt2Img(state.pipe!, s, gate, (step) => {
      state.steps.push(step);
      state.stepTimes.push(performance.now());
    });
    state.finishedAt = performance.now();
    state.lastImage = image;
    state.provider = lastProviders.get('unet') ?? [...lastProviders.values()].pop();
    drawImage('result', image);
    offerDownload(image, formatA1111Parameters({
      prompt: s.prompt, steps: s.steps, sampler: schedulerName(state.pipe!.scheduler), cfgScale: s.guidanceScale, seed: s.seed,
      width: image.width, height: image.height, extra: { Version: 'latentlab explorer' },
    }));
  }));

  input('init-image').addEventListener('change', () => void (async () => {
    const file = input('init-image').files?.[0];
    if (!file) return;
    initImage = await decodeImage(new Uint8Array(await file.arrayBuffer()), file.name);
    drawImage('init-view', initImage);
    ($('img2img') as HTMLButtonElement).disabled = state.busy;
  })().catch(fail));
  $('img2img').addEventListener('click', () => void busy('img2img…', async () => {
    await refreshSchedule();
    state.lastImg2Img = await runImg2Img(state.pipe!, { ...settings(), strength: Number(input('strength').value) }, initImage!, gate);
    state.provider = lastProviders.get('unet') ?? state.provider;
  }));

  $('swap').addEventListener('click', () => void busy('Swapping the embedding…', async () => {
    await refreshSchedule();
    await runSwap(state.pipe!, settings(), input('swap-from').value.trim(), input('swap-to').value.trim());
  }));
}

async function start(): Promise<void> {
  // ?threads=N overrides the count (for measuring); it is still 1 without cross-origin isolation.
  const asked = Number(new URLSearchParams(location.search).get('threads'));
  state.threads = asked > 0 && crossOriginIsolated ? asked : crossOriginThreads();
  configureWebRuntime({ wasmPaths: new URL('ort/', location.href).href, threads: state.threads });
  wire();
  await busy('Loading the model…', () => loadModel({ url: input('model-url').value }));
}

window.addEventListener('error', (e) => state.errors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => state.errors.push(String(e.reason)));
void start();
