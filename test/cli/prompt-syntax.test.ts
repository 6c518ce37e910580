// --prompt-syntax on generate: the run is the library pipeline's with the same promptSyntax, the
// PNG records the syntax, and a bad value stops before anything is loaded.
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { parseA1111Parameters, readPngText, SafetensorsFile, StableDiffusionPipeline } from '../../src/node.js';
import { runCli, tempDir, TINY_SD15 } from './run-cli.js';

const PROMPT = 'a (red:1.5) cube [on grass|in snow], [[blurry]]';
const ARGS = ['--model', TINY_SD15, '--prompt', PROMPT, '--negative-prompt', '[ugly::2]', '--steps', '3', '--seed', '7', '--scheduler', 'euler', '--width', '32', '--height', '32'];

describe('generate --prompt-syntax', () => {
  it('reads A1111 syntax by default, as the pipeline does, and records the syntax in the PNG', async () => {
    const dir = tempDir();
    const runs = await Promise.all(['a1111', 'plain'].map((syntax) => runCli(['generate', ...ARGS, ...(syntax === 'plain' ? ['--prompt-syntax', 'plain'] : []),
      '--out', join(dir, `${syntax}.png`), '--save-latents', join(dir, `${syntax}.safetensors`), '--json'])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const latents = await Promise.all(['a1111', 'plain'].map(async (s) => (await SafetensorsFile.open(join(dir, `${s}.safetensors`))).read('latents')));

    const pipe = await StableDiffusionPipeline.fromPretrained(TINY_SD15, { scheduler: 'euler' });
    const lib = await pipe.call({ prompt: PROMPT, negativePrompt: '[ugly::2]', numInferenceSteps: 3, seed: 7, height: 32, width: 32, outputType: 'latent' });
    await pipe.release();
    expect(Array.from(latents[0].toFloat32().data)).toEqual(Array.from(lib.latents.data));
    expect(Array.from(latents[1].toFloat32().data)).not.toEqual(Array.from(lib.latents.data));

    for (const s of ['a1111', 'plain']) {
      expect(parseA1111Parameters((await readPngText(join(dir, `${s}.png`))).parameters).extra?.['Prompt syntax']).toBe(s);
    }
  });

  it('rejects an unknown syntax, naming the choices', async () => {
    const r = await runCli(['generate', ...ARGS, '--prompt-syntax', 'compel']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--prompt-syntax.*"compel".*a1111, comfy, plain/);
  });
});
