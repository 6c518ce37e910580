// AUTOMATIC1111 infotext: exact format, round trip, and strings as the webui really writes them.
import { describe, expect, it } from 'vitest';

import { type A1111Parameters, formatA1111Parameters, parseA1111Parameters } from '../../src/image/a1111.js';
import { expectCode } from '../weights/tmp.js';

const base: A1111Parameters = {
  prompt: 'a photo of an astronaut riding a horse on mars',
  negativePrompt: 'blurry, low quality',
  steps: 20, sampler: 'Euler a', cfgScale: 7.5, seed: 42, width: 512, height: 512, model: 'stable-diffusion-v1-5',
};

describe('formatA1111Parameters (create_infotext)', () => {
  it('writes the A1111 layout and field order', () => {
    expect(formatA1111Parameters({ ...base, modelHash: '6ce0161689', extra: { 'Denoising strength': '0.75', Version: 'latentlab 0.1.0' } })).toBe(
      'a photo of an astronaut riding a horse on mars\n'
      + 'Negative prompt: blurry, low quality\n'
      + 'Steps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 42, Size: 512x512, Model hash: 6ce0161689, '
      + 'Model: stable-diffusion-v1-5, Denoising strength: 0.75, Version: latentlab 0.1.0');
  });

  it('leaves out an empty negative prompt and absent fields, quotes values with , : or newlines', () => {
    expect(formatA1111Parameters({ prompt: 'cat', negativePrompt: '', steps: 5, sampler: 'DDIM', cfgScale: 1, seed: 0n,
      extra: { 'Lora hashes': 'detail: 7c6bad76eb54, style: 0123', Note: 'two\nlines' } }))
      .toBe('cat\nSteps: 5, Sampler: DDIM, CFG scale: 1, Seed: 0, Lora hashes: "detail: 7c6bad76eb54, style: 0123", Note: "two\\nlines"');
  });

  it('refuses values and keys it could not read back', async () => {
    await expectCode(() => formatA1111Parameters({ ...base, steps: 2.5 }), 'A1111_VALUE');
    await expectCode(() => formatA1111Parameters({ ...base, cfgScale: NaN }), 'A1111_VALUE');
    await expectCode(() => formatA1111Parameters({ ...base, extra: { 'a:b': 'x' } }), 'A1111_KEY');
    await expectCode(() => formatA1111Parameters({ ...base, extra: { Seed: '1' } }), 'A1111_KEY');
  });
});

describe('parseA1111Parameters (parse_generation_parameters)', () => {
  const roundTrips: [string, A1111Parameters][] = [
    ['the basics', base],
    ['a multi-line prompt and negative prompt', { ...base, prompt: 'line one,\nline two: with a colon', negativePrompt: 'bad hands\nworst quality' }],
    ['no negative prompt, a big seed, extras with commas and quotes', {
      prompt: 'a "quoted" cat', negativePrompt: '', steps: 50, sampler: 'DPM++ 2M Karras', cfgScale: 7, seed: 18446744073709551615n,
      width: 768, height: 512, model: 'sd_xl_base_1.0', modelHash: '31e35c80fc',
      extra: { 'Clip skip': '2', 'Hires prompt': 'a "big" cat, red', 'Lora hashes': 'a: 1, b: 2', Quoted: '"starts with a quote' },
    }],
    ['emoji and CJK', { ...base, prompt: '猫が月の上に座っている 🐱🌙', negativePrompt: 'ぼやけた', model: 'モデル' }],
  ];
  it.each(roundTrips)('round trip: %s', (_, params) => {
    expect(parseA1111Parameters(formatA1111Parameters(params))).toEqual(params);
  });

  it('reads the example of A1111\'s own docstring', () => {
    const text = "girl with an artist's beret, determined, blue eyes, desert scene, computer monitors, heavy makeup, by Alphonse Mucha and Charlie Bowater, ((eyeshadow)), (coquettish), detailed, intricate\n"
      + 'Negative prompt: ugly, fat, obese, chubby, (((deformed))), [blurry], bad anatomy, disfigured, poorly drawn face, mutation, mutated, (extra_limb), (ugly), (poorly drawn hands), messy drawing\n'
      + 'Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 965400086, Size: 512x512, Model hash: 45dee52b';
    expect(parseA1111Parameters(text)).toEqual({
      prompt: text.split('\n')[0],
      negativePrompt: text.split('\n')[1].slice('Negative prompt: '.length),
      steps: 20, sampler: 'Euler a', cfgScale: 7, seed: 965400086, width: 512, height: 512, modelHash: '45dee52b',
    });
  });

  it('reads a webui 1.6 infotext with LoRA syntax, quoted hashes and hires settings', () => {
    const text = 'masterpiece, best quality, 1girl, <lora:add_detail:0.5>, (looking at viewer:1.2)\n'
      + 'Negative prompt: (worst quality, low quality:1.4), easynegative\n'
      + 'Steps: 25, Sampler: DPM++ 2M Karras, CFG scale: 7.0, Seed: 2179987202, Size: 768x512, Model hash: 93b79e09ed, '
      + 'Model: anything-v4.5, Denoising strength: 0.5, Clip skip: 2, Hires upscale: 2, Hires upscaler: Latent, '
      + 'Lora hashes: "add_detail: 7c6bad76eb54", TI hashes: "easynegative: c74b4e810b03", Version: v1.6.0\n';
    const p = parseA1111Parameters(text);
    expect(p.prompt).toBe('masterpiece, best quality, 1girl, <lora:add_detail:0.5>, (looking at viewer:1.2)');
    expect(p.negativePrompt).toBe('(worst quality, low quality:1.4), easynegative');
    expect([p.steps, p.sampler, p.cfgScale, p.seed, p.width, p.height, p.model, p.modelHash])
      .toEqual([25, 'DPM++ 2M Karras', 7, 2179987202, 768, 512, 'anything-v4.5', '93b79e09ed']);
    expect(p.extra).toEqual({
      'Denoising strength': '0.5', 'Clip skip': '2', 'Hires upscale': '2', 'Hires upscaler': 'Latent',
      'Lora hashes': 'add_detail: 7c6bad76eb54', 'TI hashes': 'easynegative: c74b4e810b03', Version: 'v1.6.0',
    });
  });

  it('treats a last line with fewer than 3 pairs as prompt text, and CRLF line ends like LF', () => {
    expect(parseA1111Parameters('a cat\nstyle: watercolor, mood: calm')).toEqual({ prompt: 'a cat\nstyle: watercolor, mood: calm', negativePrompt: '' });
    expect(parseA1111Parameters('just a prompt')).toEqual({ prompt: 'just a prompt', negativePrompt: '' });
    expect(parseA1111Parameters('a dog\r\nNegative prompt: cat\r\nSteps: 3, Sampler: Euler, Seed: 7\r\n'))
      .toEqual({ prompt: 'a dog', negativePrompt: 'cat', steps: 3, sampler: 'Euler', seed: 7 });
  });

  it('keeps standard keys whose value does not parse in extra, as written', () => {
    expect(parseA1111Parameters('x\nSteps: many, Sampler: Euler, Size: big, Seed: 1')).toEqual({
      prompt: 'x', negativePrompt: '', sampler: 'Euler', seed: 1, extra: { Steps: 'many', Size: 'big' },
    });
  });
});
