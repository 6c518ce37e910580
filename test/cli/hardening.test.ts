// What a new user's trial with bad input turned up (issue 18), through the real command: resources
// checked before compute, a prompt second Ctrl-C, no silent black images, no crashes on file
// errors, output folders checked before the model loads, flags that do not apply, safe metadata.
// Each case is a child process, as a user runs it.

import { chmodSync, closeSync, cpSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { inParallel, listFiles, parseReport, runCli, tempDir, TINY_SD15, TSX } from './run-cli.js';

const NO_MODEL = '/nonexistent/latentlab-model';

/** A copy of tiny-sd15 with one change, made once per test file. */
function brokenModel(root: string, name: string, change: (dir: string) => void): string {
  const dir = join(root, name);
  cpSync(TINY_SD15, dir, { recursive: true });
  change(dir);
  return dir;
}

/** Every byte of a safetensors file's data turned into float32 NaNs (the header stays valid). */
function poisonWeights(file: string): void {
  const bytes = readFileSync(file);
  const start = 8 + Number(bytes.readBigUInt64LE(0));
  const nan = Buffer.alloc(bytes.length - start);
  for (let i = 0; i + 4 <= nan.length; i += 4) nan.writeFloatLE(NaN, i);
  const fd = openSync(file, 'r+');
  writeSync(fd, nan, 0, nan.length, start);
  closeSync(fd);
}

function editJson(file: string, edit: (o: Record<string, unknown>) => void): void {
  const o = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(o);
  writeFileSync(file, JSON.stringify(o));
}

/** A folder no file can be created in: a read-only mode for a normal user; root ignores modes, so /sys for root. */
function unwritableFolder(root: string): string {
  if (process.getuid?.() === 0) return '/sys';
  const dir = join(root, 'read-only');
  mkdirSync(dir);
  chmodSync(dir, 0o555);
  return dir;
}

interface Case {
  name: string;
  args: string[];
  code: number;
  message: RegExp;
  hint?: RegExp;
}

describe('bad input is refused before compute, with a coded error', () => {
  const root = tempDir('latentlab-hardening-');
  const models = {
    nanUnet: brokenModel(root, 'nan-unet', (d) => poisonWeights(join(d, 'unet', 'diffusion_pytorch_model.safetensors'))),
    nanVae: brokenModel(root, 'nan-vae', (d) => poisonWeights(join(d, 'vae', 'diffusion_pytorch_model.safetensors'))),
    zeroScale: brokenModel(root, 'zero-scale', (d) => editJson(join(d, 'vae', 'config.json'), (o) => (o.scaling_factor = 0))),
    noTimesteps: brokenModel(root, 'no-timesteps', (d) => editJson(join(d, 'scheduler', 'scheduler_config.json'), (o) => (o.num_train_timesteps = 0))),
    sdxl: brokenModel(root, 'sdxl', (d) => editJson(join(d, 'model_index.json'), (o) => (o._class_name = 'StableDiffusionXLPipeline'))),
  };
  const folder = join(root, 'a-folder');
  mkdirSync(folder);
  const unknownClass = join(root, 'foo_scheduler.json');
  writeFileSync(unknownClass, '{"_class_name": "FooScheduler"}');
  const out = (name: string) => ['--out', join(root, name), '--progress', 'none'];
  const gen = (model: string, ...more: string[]) => ['generate', '--model', model, '--prompt', 'a cat', '--steps', '2', '--seed', '1', ...more];

  const CASES: Case[] = [
    { name: 'a batch that cannot fit in memory', args: gen(TINY_SD15, '--num-images', '1000000', '--out', `${root}/`, '--progress', 'none'), code: 1,
      message: /RESOURCE_MEMORY.*1000000 images of 64×64 need an estimated [\d.]+ [GT]iB of memory, more than the [\d.]+ GiB of memory available now/, hint: /--num-images/ },
    { name: 'over --max-memory', args: gen(TINY_SD15, '--width', '1024', '--height', '1024', '--max-memory', '64M', ...out('cap.png')), code: 1,
      message: /RESOURCE_MEMORY.*1 image of 1024×1024 needs an estimated [\d.]+ MiB of memory, more than the limit of 64\.0 MiB \(--max-memory\): the vae_decoder needs/,
      hint: /--width \/ --height .*raise --max-memory/ },
    { name: 'a --max-memory that does not parse', args: gen(NO_MODEL, '--max-memory', 'lots', ...out('x.png')), code: 2, message: /--max-memory "lots": expected a memory size such as 8G/ },
    { name: 'NaN weights in the UNet', args: gen(models.nanUnet, ...out('nan.png')), code: 1,
      message: /NUMERIC_NONFINITE.*the UNet's prediction at step 1 of 3 \(timestep \d+\) holds \d+ NaN values/, hint: /UNet weights .* NaN or Inf/ },
    { name: 'NaN weights in the VAE', args: gen(models.nanVae, ...out('nan-vae.png')), code: 1, message: /NUMERIC_NONFINITE.*the VAE decoder's output holds/, hint: /VAE weights/ },
    { name: 'a guidance scale that overflows', args: gen(TINY_SD15, '--guidance', '1e308', ...out('g.png')), code: 1,
      message: /NUMERIC_NONFINITE.*the guided noise prediction at step 1 of 3/, hint: /guidance scale 1e\+308 is so large/ },
    { name: 'scaling_factor 0', args: gen(models.zeroScale, ...out('s.png')), code: 1, message: /CONFIG_FIELD.*zero-scale\/vae\/config\.json: "scaling_factor" is 0; expected a finite number > 0/ },
    { name: 'num_train_timesteps 0', args: gen(models.noTimesteps, ...out('t.png')), code: 1,
      message: /SCHEDULER_CONFIG.*no-timesteps\/scheduler\/scheduler_config\.json: PNDMScheduler: config field "num_train_timesteps" is 0/, hint: /in the scheduler config/ },
    { name: 'a model_index.json of another pipeline', args: gen(models.sdxl, ...out('xl.png')), code: 1,
      message: /PIPELINE_UNSUPPORTED.*model_index\.json declares "_class_name": "StableDiffusionXLPipeline"/ },
    { name: '--revision on a local folder', args: gen(TINY_SD15, '--revision', 'main', ...out('r.png')), code: 2,
      message: /--revision does not apply here: .*--model is a local folder/, hint: /leave --revision out/ },
    { name: '--revision on a local folder (tokenize)', args: ['tokenize', '--model', TINY_SD15, '--prompt', 'x', '--revision', 'v1'], code: 2, message: /--revision does not apply here/ },
    { name: '--eta with a scheduler that ignores it', args: gen(TINY_SD15, '--eta', '0.5', ...out('e.png')), code: 2, message: /--eta does not apply here: .*PNDMScheduler/, hint: /--scheduler ddim/ },
    { name: 'a folder as the input image', args: ['img2img', '--model', NO_MODEL, '--image', folder, '--prompt', 'x', ...out('i.png')], code: 1,
      message: /IO_IS_FOLDER.*a-folder: is a folder, not a file/ },
    { name: 'a folder that is no pipeline, to info', args: ['info', folder], code: 1, message: /PIPELINE_NOT_DIFFUSERS.*a-folder has no model_index\.json/, hint: /pass a pipeline folder, or a single weights file/ },
    { name: 'a folder as --scheduler-config', args: gen(NO_MODEL, '--scheduler-config', folder, ...out('c.png')), code: 1, message: /IO_IS_FOLDER.*--scheduler-config/ },
    { name: 'a folder as encode --image', args: ['encode', '--model', TINY_SD15, '--image', folder], code: 1, message: /IO_IS_FOLDER/ },
    { name: 'an output folder that takes no files, before the model loads', args: ['generate', '--model', NO_MODEL, '--prompt', 'x', '--out', join(unwritableFolder(root), 'x.png')], code: 1,
      message: /IO_PERMISSION.*--out: cannot create files in the folder/ },
    { name: 'a library hint, shown in CLI syntax', args: gen(NO_MODEL, '--scheduler-config', unknownClass, ...out('u.png')), code: 1,
      message: /SCHEDULER_UNKNOWN.*unknown scheduler class "FooScheduler"/, hint: /hint: pick a scheduler by name \(--scheduler euler-a\)/ },
    { name: 'an unknown --progress mode', args: gen(NO_MODEL, '--progress', 'fancy'), code: 2, message: /--progress "fancy": expected one of bar, lines, none/ },
  ];

  it('each names the flag, file or step, with a hint; no stack trace, nothing on stdout, no image written', async () => {
    const results = await inParallel(CASES, 3, async (c) => ({ c, r: await runCli(c.args, { env: { HF_HUB_OFFLINE: '1' } }) }));
    for (const { c, r } of results) {
      const label = `${c.name}:\n${r.stderr}`;
      expect(r.code, label).toBe(c.code);
      expect(r.stderr, label).toMatch(c.message);
      if (c.hint) expect(r.stderr, label).toMatch(c.hint);
      expect(r.stderr, label).not.toMatch(/internal error|\n\s+at /);
      expect(r.stdout, label).toBe('');
    }
    expect(listFiles(root).filter((f) => f.endsWith('.png') && !f.includes('/'))).toEqual([]);
  });

  it('caps --threads at the cores, with a warning in the flag\'s terms', async () => {
    const r = await runCli(gen(TINY_SD15, '--steps', '1', '--threads', '100000', '--json', ...out('threads.png')));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: --threads 100000: this machine has \d+ cores; using --threads \d+/);
    expect(parseReport(r).settings.threads).toBeLessThan(100000);
  });
});

describe('Ctrl-C', () => {
  it('a second Ctrl-C ends the process at once, even inside a long ONNX Runtime run', async () => {
    const dir = tempDir();
    let firstLineAt = 0;
    let secondAt = 0;
    // 512² makes one UNet call of the tiny model last about a second; progress lines (stderr is a pipe)
    // say when step 1 is done, so the signals arrive inside step 2's call.
    const r = await runCli(['generate', '--model', TINY_SD15, '--prompt', 'x', '--steps', '3', '--width', '512', '--height', '512', '--seed', '1', '--out', join(dir, 'x.png')], {
      onSpawn: (child, output) => {
        const poll = setInterval(() => {
          if (firstLineAt === 0 && /denoising .* 1\/4/.test(output.stderr())) {
            clearInterval(poll);
            firstLineAt = Date.now();
            child.kill('SIGINT');
            setTimeout(() => {
              secondAt = Date.now();
              child.kill('SIGINT');
            }, 50);
          }
        }, 20);
      },
    });
    const exitedAt = Date.now();
    expect(r.stderr).toMatch(/denoising \(4 UNet calls for 3 steps: PLMS warms up with one extra call\)/);
    expect(r.stderr).toMatch(/cancelling after the current step \(Ctrl-C again to quit at once\)[\s\S]*latentlab: cancelled/);
    expect(r.signal ?? r.code, r.stderr).toSatisfy((v: unknown) => v === 'SIGINT' || v === 130);
    expect(exitedAt - secondAt).toBeLessThan(500);
    expect(r.stderr).not.toMatch(/ 2\/4 /); // it did not wait for the step to finish
    expect(listFiles(dir)).toEqual([]);
  });
});

describe('metadata', () => {
  it('info escapes control characters; a prompt that looks like infotext round-trips exactly', async () => {
    const dir = tempDir();
    const prompt = 'a cat\nNegative prompt: dogs \u001b[31mred\u001b[0m\nSteps: 9, Sampler: Euler, CFG scale: 3';
    const file = join(dir, 'tricky.png');
    const g = await runCli(['generate', '--model', TINY_SD15, '--prompt', prompt, '--negative-prompt', ' spaced ', '--steps', '1', '--seed', '1', '--out', file, '--progress', 'none']);
    expect(g.code, g.stderr).toBe(0);
    const [text, json] = await Promise.all([runCli(['info', file]), runCli(['info', file, '--json'])]);
    expect(text.stdout).not.toMatch(/\u001b/);
    expect(text.stdout).toMatch(/dogs \\x1b\[31mred\\x1b\[0m/);
    expect(text.stdout).toMatch(/the exact prompts, from the latentlab-prompts chunk/);
    const report = parseReport(json);
    expect(report.parsed).toMatchObject({ prompt, negativePrompt: ' spaced ', steps: 1, seed: 1 });
    expect(report.exactPrompts).toBe(true);
  });
});

describe('help and names', () => {
  it('marks required flags and lists the schedulers', async () => {
    const [help, list] = await Promise.all([runCli(['img2img', '--help']), runCli(['schedulers', '--json'])]);
    expect(help.stdout).toMatch(/--image <file>[\s\S]*\(required\)/);
    expect(help.stdout).toMatch(/--prompt <text>[^\n]*\n[^\n]*\(required\)/);
    const names = parseReport(list).schedulers.map((s: { name: string }) => s.name);
    expect(names).toEqual(expect.arrayContaining(['euler-a', 'dpm++2m-karras', 'plms', 'ddim']));
  });
});

describe('library options, in a child process', () => {
  it('an unknown option or a wrong type is a LatentlabError naming the option', async () => {
    const code = `
      const { StableDiffusionPipeline } = await import(${JSON.stringify(new URL('../../src/node.ts', import.meta.url).href)});
      const pipe = await StableDiffusionPipeline.fromPretrained(${JSON.stringify(TINY_SD15)});
      for (const o of [{ prompt: 'x', steps: 2 }, { prompt: 123 }, { prompt: 'x', guidanceScale: NaN }, { prompt: 'x', numInferenceSteps: 2.5 }]) {
        try { await pipe.call(o); console.log('no error'); } catch (e) { console.log(e.name, e.code, e.key, e.message.split('\\n')[0]); }
      }`;
    const r = await new Promise<{ stdout: string; code: number | null }>((resolve) => {
      import('node:child_process').then(({ execFile }) => {
        execFile(process.execPath, ['--import', TSX, '--input-type=module', '-e', code], (error, stdout) => resolve({ stdout, code: error ? 1 : 0 }));
      });
    });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'LatentlabError PIPELINE_OPTION_UNKNOWN steps unknown option "steps" (did you mean numInferenceSteps?)',
      'LatentlabError PIPELINE_ARGUMENT prompt prompt is 123; expected a string or a non-empty list of strings',
      'LatentlabError PIPELINE_ARGUMENT guidanceScale guidanceScale is NaN; expected a finite number',
      'LatentlabError PIPELINE_ARGUMENT numInferenceSteps numInferenceSteps is 2.5; expected an integer ≥ 1',
    ]);
  });
});
