// The mistakes a new user makes, through the real command: each gives one clear paragraph on stderr
// (naming the flag, file or value, with a hint), a non-zero exit code, no stack trace, nothing on
// stdout and no file left behind. Checks that must happen before any compute are run against a
// model that does not exist: if the check came later, the error would be about the model instead.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createRgbImage, encodePng } from '../../src/node.js';
import { fixturePath } from '../helpers/fixtures.js';
import { inParallel, listFiles, runCli, tempDir, TINY_SD15 } from './run-cli.js';

const INPUT_PNG = fixturePath('reference', 'tiny-sd15', 'img2img', 'sd15_pndm_img2img_64x64_input.png');
/** Never loaded: errors that must come before the model is touched still name the real problem. */
const NO_MODEL = '/nonexistent/latentlab-model';

interface ErrorCase {
  name: string;
  args: (dir: string) => string[];
  code: number;
  message: RegExp;
  hint?: RegExp;
}

const gen = (dir: string, ...more: string[]) => ['generate', '--model', NO_MODEL, '--prompt', 'a cat', '--out', join(dir, 'x.png'), ...more];
const i2i = (dir: string, image: string, ...more: string[]) => ['img2img', '--model', NO_MODEL, '--image', image, '--prompt', 'a cat', '--out', join(dir, 'x.png'), ...more];

const CASES: ErrorCase[] = [
  { name: 'unknown Hub id offline', args: (d) => ['generate', '--model', 'nobody/no-such-model', '--prompt', 'x', '--out', join(d, 'x.png')], code: 1,
    message: /MODEL_NOT_FOUND.*nobody\/no-such-model \(revision main\) is not in the Hugging Face cache/, hint: /hint: with network .* run `latentlab generate --model nobody\/no-such-model/ },
  { name: 'a folder that is not a diffusers pipeline', args: (d) => ['generate', '--model', d, '--prompt', 'x', '--out', join(d, 'x.png')], code: 1,
    message: /PIPELINE_NOT_DIFFUSERS.*is not a diffusers pipeline folder: it has no model_index\.json/, hint: /hint: pass the top folder/ },
  { name: 'tokenize on a folder that is not a pipeline', args: (d) => ['tokenize', '--model', d, '--prompt', 'x'], code: 1, message: /PIPELINE_NOT_DIFFUSERS/ },
  { name: 'width not a multiple of 8', args: (d) => gen(d, '--width', '100'), code: 2, message: /--width "100": expected a positive multiple of 8/, hint: /use 96 or 104/ },
  { name: 'height not a multiple of 8', args: (d) => gen(d, '--height', '60'), code: 2, message: /--height "60": expected a positive multiple of 8/, hint: /use 56 or 64/ },
  { name: 'strength 0', args: (d) => i2i(d, INPUT_PNG, '--strength', '0'), code: 2, message: /--strength "0": expected a number in \(0, 1\]/, hint: /0\.3 keeps most/ },
  { name: 'strength above 1', args: (d) => i2i(d, INPUT_PNG, '--strength', '1.5'), code: 2, message: /--strength "1\.5": expected a number in \(0, 1\]/ },
  { name: 'steps 0', args: (d) => gen(d, '--steps', '0'), code: 2, message: /--steps "0": expected an integer ≥ 1/ },
  { name: 'steps not a number', args: (d) => gen(d, '--steps', 'ten'), code: 2, message: /--steps "ten": expected an integer ≥ 1/ },
  { name: 'steps not an integer', args: (d) => gen(d, '--steps', '2.5'), code: 2, message: /--steps "2\.5": expected an integer ≥ 1/ },
  { name: 'img2img steps × strength below one step', args: (d) => i2i(d, INPUT_PNG, '--steps', '1', '--strength', '0.5'), code: 2,
    message: /--steps 1 with --strength 0\.5 runs int\(1 × 0\.5\) = 0 denoising steps/, hint: /use at least --steps 2/ },
  { name: 'more steps than the model was trained with', args: (d) => ['generate', '--model', TINY_SD15, '--prompt', 'x', '--steps', '2000', '--out', join(d, 'x.png')], code: 2,
    message: /--steps "2000": expected at most 1000, the number of timesteps the model was trained with/ },
  { name: 'more steps than LCM\'s distillation grid', args: (d) => ['generate', '--model', TINY_SD15, '--prompt', 'x', '--scheduler', 'lcm', '--steps', '60', '--out', join(d, 'x.png')], code: 2,
    message: /--steps "60": expected a step count LCMScheduler accepts \(.*numInferenceSteps is 60, more than original_inference_steps \(50\)\)/, hint: /at most 50 steps/ },
  { name: 'clip skip beyond the text encoder', args: (d) => ['generate', '--model', TINY_SD15, '--prompt', 'x', '--clip-skip', '5', '--out', join(d, 'x.png')], code: 2,
    message: /--clip-skip "5": expected less than \d+, the number of layers of this text encoder/ },
  { name: 'guidance not a number', args: (d) => gen(d, '--guidance', 'high'), code: 2, message: /--guidance "high": expected a number/ },
  { name: 'negative seed', args: (d) => gen(d, '--seed', '-1'), code: 2, message: /--seed "-1": expected an integer in \[0, 2\^64\)/, hint: /leave --seed out/ },
  { name: 'seed too large', args: (d) => gen(d, '--seed', '18446744073709551616'), code: 2, message: /--seed "18446744073709551616"/ },
  { name: 'negative threads', args: (d) => gen(d, '--threads', '-2'), code: 2, message: /--threads "-2": expected an integer ≥ 1/ },
  { name: 'unknown device', args: (d) => gen(d, '--device', 'tpu'), code: 2, message: /--device "tpu": expected one of cpu, cuda/ },
  { name: 'unknown scheduler name', args: (d) => gen(d, '--scheduler', 'euler-b'), code: 2, message: /--scheduler "euler-b": expected one of: .*euler-a.*DPM\+\+ 2M Karras.*EulerDiscreteScheduler/ },
  { name: 'both --scheduler and --scheduler-config', args: (d) => gen(d, '--scheduler', 'euler', '--scheduler-config', join(d, 'c.json')), code: 2, message: /cannot be used with option '--scheduler-config/ },
  { name: 'missing --scheduler-config file', args: (d) => gen(d, '--scheduler-config', join(d, 'nope.json')), code: 1, message: /IO_NOT_FOUND.*--scheduler-config .*nope\.json: no such file/ },
  { name: 'a --scheduler-config that is not JSON', args: (d) => gen(d, '--scheduler-config', join(d, 'broken.json')), code: 1, message: /CONFIG_JSON.*broken\.json: not valid JSON \(line 1, column/ },
  { name: 'negative prompts that do not pair with the prompts', args: (d) => gen(d, '--prompt', 'b', '--prompt', 'c', '--negative-prompt', 'x', '--negative-prompt', 'y'), code: 2,
    message: /--negative-prompt is given 2 times for 3 --prompts; expected it once \(for all prompts\) or once per prompt \(3 times\)/ },
  { name: 'an image file that cannot be decoded', args: (d) => i2i(d, join(d, 'not-an-image.png')), code: 1, message: /IMAGE_DECODE.*not-an-image\.png: cannot decode the image/, hint: /hint: use a PNG, JPEG/ },
  { name: 'a missing image file', args: (d) => i2i(d, join(d, 'missing.png')), code: 1, message: /IO_NOT_FOUND.*missing\.png: no such file/ },
  { name: 'an image whose sides are not multiples of 8', args: (d) => i2i(d, join(d, 'odd.png')), code: 1,
    message: /IMAGE_SIZE.*odd\.png is 100×75 pixels; both sides must be multiples of 8/, hint: /pass --width 96 --height 72 to resize it explicitly/ },
  { name: 'an output image in a missing folder', args: (d) => ['generate', '--model', NO_MODEL, '--prompt', 'x', '--out', join(d, 'missing', 'x.png')], code: 1,
    message: /IO_NO_FOLDER.*--out .*missing\/x\.png: the folder .*missing does not exist/, hint: /mkdir -p/ },
  { name: 'saved latents in a missing folder', args: (d) => gen(d, '--save-latents', join(d, 'missing', 'z.safetensors')), code: 1, message: /IO_NO_FOLDER.*--save-latents/ },
  { name: 'previews in a folder whose parent is missing', args: (d) => gen(d, '--preview', join(d, 'missing', 'steps')), code: 1, message: /IO_NO_FOLDER.*--preview/ },
  { name: 'a plot in a missing folder', args: (d) => ['schedule', '--model', TINY_SD15, '--plot', join(d, 'missing', 'p.svg')], code: 1, message: /IO_NO_FOLDER.*--plot/ },
  { name: 'encode channels in a missing folder', args: (d) => ['encode', '--model', NO_MODEL, '--image', INPUT_PNG, '--channels', join(d, 'missing', 'c.png')], code: 1, message: /IO_NO_FOLDER.*--channels/ },
  { name: 'latents with the wrong extension', args: (d) => gen(d, '--save-latents', join(d, 'z.png')), code: 2, message: /--save-latents ".*z\.png": expected a file name ending in \.safetensors/ },
  { name: 'an output file that exists', args: (d) => ['generate', '--model', NO_MODEL, '--prompt', 'x', '--out', join(d, 'odd.png')], code: 1,
    message: /CLI_OUTPUT_EXISTS.*odd\.png: the file already exists/, hint: /pass --overwrite to replace it/ },
  { name: 'info on a PNG without parameters', args: (d) => ['info', join(d, 'odd.png')], code: 1, message: /PNG_NO_PARAMETERS.*odd\.png has no "parameters" text chunk/ },
  { name: '--vae with a path that is no VAE', args: (d) => gen(d, '--vae', d), code: 1, message: /MODEL_NOT_FOUND.*--vae .*: neither a VAE folder \(with config\.json\) nor a \.safetensors \/ \.ckpt file/, hint: /vae-ft-mse/ },
  { name: '--vae with an unknown kind', args: (d) => gen(d, '--vae', 'tiny', d), code: 2, message: /--vae "tiny .*": expected KIND PATH with KIND one of taesd/ },
  { name: '--vae taesd on a folder without config.json', args: (d) => gen(d, '--vae', 'taesd', join(d, 'nothing')), code: 1, message: /MODEL_NOT_FOUND.*--vae taesd .*nothing: no config\.json/, hint: /madebyollin\/taesd/ },
  { name: '--preview-vae without --preview', args: (d) => gen(d, '--preview-vae', 'taesd', d), code: 2, message: /--preview-vae is given without --preview/ },
  { name: 'an unknown flag', args: (d) => gen(d, '--stpes', '5'), code: 2, message: /error: unknown option '--stpes'/ },
  { name: 'a missing required flag', args: () => ['generate', '--model', NO_MODEL], code: 2, message: /error: required option '--prompt <text>' not specified/ },
];

/** The inputs some cases need; everything else in the folder afterwards would be a leftover. */
async function prepare(dir: string): Promise<string[]> {
  writeFileSync(join(dir, 'not-an-image.png'), 'this is not an image\n');
  writeFileSync(join(dir, 'broken.json'), '{"_class_name": "EulerDiscreteScheduler",');
  writeFileSync(join(dir, 'odd.png'), await encodePng(createRgbImage(100, 75, [200, 100, 50])));
  return listFiles(dir);
}

describe('errors a new user will hit', () => {
  it('each is one clear paragraph with a hint, a non-zero exit code, no stack trace and no file left behind', async () => {
    const results = await inParallel(CASES, 4, async (c) => {
      const dir = tempDir();
      const before = await prepare(dir);
      const r = await runCli(c.args(dir), { env: { HF_HUB_OFFLINE: '1', HF_HUB_CACHE: join(dir, 'hub-cache') } });
      return { c, r, before, after: listFiles(dir) };
    });
    for (const { c, r, before, after } of results) {
      const label = `${c.name}:\n${r.stderr}`;
      expect(r.code, label).toBe(c.code);
      expect(r.stderr, label).toMatch(c.message);
      if (c.hint) expect(r.stderr, label).toMatch(c.hint);
      expect(r.stderr, label).toMatch(/^latentlab: error/);
      expect(r.stderr, label).not.toMatch(/\n\s+at /);
      expect(r.stdout, label).toBe('');
      expect(after, label).toEqual(before);
    }
  });

  it('a prompt longer than 77 tokens: in plain syntax a warning listing the dropped text, in A1111\'s a second chunk; never an error', async () => {
    const dir = tempDir();
    const args = ['generate', '--model', TINY_SD15, '--prompt', `${Array(80).fill('cat').join(' ')} on a red sofa`, '--steps', '1', '--seed', '1'];
    const [plain, a1111] = await Promise.all([
      runCli([...args, '--prompt-syntax', 'plain', '--out', join(dir, 'x.png')]),
      runCli([...args, '--out', join(dir, 'y.png')]),
    ]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(/^latentlab: warning: The following part of your input was truncated because CLIP can only handle sequences up to 77 tokens: cat cat cat cat cat on a red sofa$/m);
    expect(a1111.code, a1111.stderr).toBe(0);
    expect(a1111.stderr).not.toMatch(/warning/);
    expect(listFiles(dir)).toEqual(['x.png', 'y.png']);
  });

  it('--debug and LATENTLAB_DEBUG=1 add the stack trace', async () => {
    const dir = tempDir();
    const [flag, env] = await Promise.all([
      runCli(['generate', '--model', dir, '--prompt', 'x', '--out', join(dir, 'x.png'), '--debug']),
      runCli(['generate', '--model', dir, '--prompt', 'x', '--out', join(dir, 'x.png')], { env: { LATENTLAB_DEBUG: '1' } }),
    ]);
    for (const r of [flag, env]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/PIPELINE_NOT_DIFFUSERS[\s\S]*\n\s+at .*components\.[jt]s/);
    }
  });
});
