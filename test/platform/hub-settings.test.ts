// The pure parts of the Hub client: environment variables read the way huggingface_hub reads them,
// Hub id validation, the file selection rules (diffusers' variant_compatible_siblings with
// safetensors only), and the terminal progress renderer.

import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { formatBytes, hubSettings, isHubModelId, terminalProgress } from '../../src/platform/node/hub.js';
import { selectPipelineFiles } from '../../src/hub/select.js';
import { parseModelIndex } from '../../src/weights/diffusers.js';
import { tempCache } from './hub-repos.js';

describe('hubSettings', () => {
  const HOME = '/home/u';

  it('cache folder: HF_HUB_CACHE > HUGGINGFACE_HUB_CACHE > HF_HOME/hub > XDG_CACHE_HOME/huggingface/hub > ~/.cache/huggingface/hub', () => {
    expect(hubSettings({}, { HOME }).cacheDir).toBe('/home/u/.cache/huggingface/hub');
    expect(hubSettings({}, { HOME, XDG_CACHE_HOME: '/xdg' }).cacheDir).toBe('/xdg/huggingface/hub');
    expect(hubSettings({}, { HOME, XDG_CACHE_HOME: '/xdg', HF_HOME: '/hf' }).cacheDir).toBe('/hf/hub');
    expect(hubSettings({}, { HOME, HF_HOME: '/hf', HUGGINGFACE_HUB_CACHE: '/legacy' }).cacheDir).toBe('/legacy');
    expect(hubSettings({}, { HOME, HUGGINGFACE_HUB_CACHE: '/legacy', HF_HUB_CACHE: '/new' }).cacheDir).toBe('/new');
    expect(hubSettings({ cacheDir: '/opt' }, { HOME, HF_HUB_CACHE: '/new' }).cacheDir).toBe('/opt');
  });

  it('expands ~ and $VAR as Python does', () => {
    expect(hubSettings({}, { HOME, HF_HOME: '~/hf' }).cacheDir).toBe('/home/u/hf/hub');
    expect(hubSettings({}, { HOME, DATA: '/data', HF_HUB_CACHE: '$DATA/hub' }).cacheDir).toBe('/data/hub');
    expect(hubSettings({}, { HOME, HF_HUB_CACHE: '${UNSET}/hub' }).cacheDir).toBe('${UNSET}/hub');
    expect(hubSettings({}, {}).cacheDir).toBe(join(homedir(), '.cache', 'huggingface', 'hub'));
  });

  it('token: option > HF_TOKEN > HUGGING_FACE_HUB_TOKEN > $HF_TOKEN_PATH (default $HF_HOME/token)', () => {
    const home = tempCache();
    writeFileSync(join(home, 'token'), ' hf_from_file\r\n');
    const env = { HOME, HF_HOME: home };
    expect(hubSettings({}, env)).toMatchObject({ token: 'hf_from_file', tokenSource: `the token file ${join(home, 'token')}` });
    expect(hubSettings({}, { ...env, HUGGING_FACE_HUB_TOKEN: 'hf_legacy' })).toMatchObject({ token: 'hf_legacy', tokenSource: 'HUGGING_FACE_HUB_TOKEN' });
    expect(hubSettings({}, { ...env, HF_TOKEN: 'hf_env', HUGGING_FACE_HUB_TOKEN: 'hf_legacy' }).token).toBe('hf_env');
    expect(hubSettings({}, { ...env, HF_TOKEN: '' }).token).toBe('hf_from_file');
    expect(hubSettings({ token: 'hf_opt' }, { ...env, HF_TOKEN: 'hf_env' }).token).toBe('hf_opt');
    expect(hubSettings({ token: false }, { ...env, HF_TOKEN: 'hf_env' }).token).toBeUndefined();
    expect(hubSettings({}, { HOME, HF_TOKEN_PATH: join(home, 'token') }).token).toBe('hf_from_file');
    expect(hubSettings({}, { HOME, HF_HOME: '/nonexistent' }).token).toBeUndefined();
  });

  it('offline: HF_HUB_OFFLINE (1/ON/YES/TRUE, any case), else TRANSFORMERS_OFFLINE; the option wins', () => {
    for (const v of ['1', 'on', 'YES', 'True']) expect(hubSettings({}, { HF_HUB_OFFLINE: v }).offline).toBe(true);
    for (const v of ['0', 'false', 'no', '']) expect(hubSettings({}, { HF_HUB_OFFLINE: v }).offline).toBe(false);
    expect(hubSettings({}, { TRANSFORMERS_OFFLINE: '1' }).offline).toBe(true);
    expect(hubSettings({ offline: false }, { HF_HUB_OFFLINE: '1' }).offline).toBe(false);
  });

  it('endpoint: option > HF_ENDPOINT > https://huggingface.co, trailing slash dropped; not a URL is an error', () => {
    expect(hubSettings({}, {}).endpoint).toBe('https://huggingface.co');
    expect(hubSettings({}, { HF_ENDPOINT: 'https://hf-mirror.com/' }).endpoint).toBe('https://hf-mirror.com');
    expect(hubSettings({ endpoint: 'http://127.0.0.1:8080' }, { HF_ENDPOINT: 'https://x' }).endpoint).toBe('http://127.0.0.1:8080');
    expect(() => hubSettings({}, { HF_ENDPOINT: 'hf-mirror.com' })).toThrow(/HF_ENDPOINT is "hf-mirror.com", expected an http\(s\) URL/);
  });
});

describe('isHubModelId', () => {
  it('accepts name and org/name; rejects paths and what the Hub forbids', () => {
    for (const id of ['gpt2', 'stable-diffusion-v1-5/stable-diffusion-v1-5', 'org_1/model.v2', 'a/b']) expect(isHubModelId(id), id).toBe(true);
    for (const id of ['', './x', '/abs/x', '../x', 'a/b/c', 'C:\\models', '~/m', 'org--x/y', 'org/x..y', 'org/x.git', '-org/x', 'org/x-', `a/${'x'.repeat(100)}`]) {
      expect(isHubModelId(id), id).toBe(false);
    }
  });
});

describe('selectPipelineFiles', () => {
  const index = parseModelIndex({
    _class_name: 'StableDiffusionPipeline',
    text_encoder: ['transformers', 'CLIPTextModel'],
    tokenizer: ['transformers', 'CLIPTokenizer'],
    unet: ['diffusers', 'UNet2DConditionModel'],
    vae: ['diffusers', 'AutoencoderKL'],
    scheduler: ['diffusers', 'PNDMScheduler'],
    safety_checker: ['stable_diffusion', 'StableDiffusionSafetyChecker'],
    image_encoder: [null, null],
  }, 'model_index.json');

  it('legacy sharded variant names (…-00001-of-00002.fp16.safetensors) are used when no modern ones exist', () => {
    const listing = ['model_index.json', 'unet/config.json', 'unet/diffusion_pytorch_model.safetensors.fp16.index.json',
      'unet/diffusion_pytorch_model-00001-of-00002.fp16.safetensors', 'unet/diffusion_pytorch_model-00002-of-00002.fp16.safetensors', 'unet/diffusion_pytorch_model.safetensors'];
    const s = selectPipelineFiles(listing, index, { variant: 'fp16', components: ['unet'] });
    expect(s.files).toEqual(['model_index.json', 'unet/config.json', 'unet/diffusion_pytorch_model.safetensors.fp16.index.json']);
    expect(s.weights[0]).toMatchObject({ sharded: true, fellBack: false });
  });

  it('modern variant index wins over the legacy one and over a single variant file', () => {
    const listing = ['unet/diffusion_pytorch_model.fp16.safetensors', 'unet/diffusion_pytorch_model.safetensors.index.fp16.json',
      'unet/diffusion_pytorch_model.safetensors.fp16.index.json', 'unet/diffusion_pytorch_model.fp16-00001-of-00001.safetensors'];
    const s = selectPipelineFiles(listing, index, { variant: 'fp16', components: ['unet'] });
    expect(s.weights[0].file).toBe('diffusion_pytorch_model.safetensors.index.fp16.json');
  });

  it('components the caller did not ask for, and null ones, are skipped; required files are listed', () => {
    const s = selectPipelineFiles(['safety_checker/model.safetensors', 'tokenizer/vocab.json'], index, { components: ['tokenizer', 'safety_checker', 'image_encoder', 'scheduler'] });
    expect(s.absent).toEqual(['image_encoder']);
    expect(s.required).toEqual(['tokenizer/vocab.json', 'tokenizer/merges.txt', 'safety_checker/config.json', 'scheduler/scheduler_config.json']);
    expect(selectPipelineFiles(['safety_checker/model.safetensors'], index).files).toEqual(['model_index.json']);
  });

  it('a component with only other variants has no file, and says what it expected', () => {
    const s = selectPipelineFiles(['vae/diffusion_pytorch_model.fp16.safetensors', 'vae/diffusion_pytorch_model.bin'], index, { components: ['vae'] });
    expect(s.weights[0]).toMatchObject({ file: undefined, expected: 'vae/diffusion_pytorch_model.safetensors' });
    expect(s.weights[0].unusable).toEqual(['diffusion_pytorch_model.fp16.safetensors', 'diffusion_pytorch_model.bin']);
  });
});

describe('terminalProgress', () => {
  it('draws on a TTY, prints only warnings elsewhere', () => {
    const out: string[] = [];
    const tty = terminalProgress({ isTTY: true, columns: 120, write: (t) => out.push(t) });
    tty({ type: 'plan', repoId: 'o/m', revision: 'main', commit: 'a'.repeat(40), files: ['x'], download: [{ path: 'x', size: 2e9 }], totalBytes: 2e9 });
    tty({ type: 'download', path: 'x', fileBytes: 2e9, fileSize: 2e9, doneBytes: 2e9, totalBytes: 2e9 });
    tty({ type: 'done', folder: '/f', commit: 'a'.repeat(40), downloadedBytes: 2e9, offline: false });
    expect(out.join('')).toMatch(/Downloading o\/m \(main = aaaaaaaaaa\): 1 files, 2\.0 GB\n.*100%.*2\.0 GB \/ 2\.0 GB.*\r\x1b\[2KDownloaded 2\.0 GB to \/f\n/s);
    const log: string[] = [];
    const pipe = terminalProgress({ isTTY: false, write: (t) => log.push(t) });
    pipe({ type: 'download', path: 'x', fileBytes: 1, fileSize: 2, doneBytes: 1, totalBytes: 2 });
    pipe({ type: 'warning', message: 'careful' });
    expect(log).toEqual(['warning: careful\n']);
    expect([formatBytes(12), formatBytes(530_000), formatBytes(1_720_000_000)]).toEqual(['12 B', '530 kB', '1.7 GB']);
  });
});
