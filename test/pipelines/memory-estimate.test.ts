// The memory estimate on its own (in process): what admission control — the pipelines', the CLI's,
// a server's — relies on. The refusals through the command are in test/cli/hardening.test.ts.

import { describe, expect, it } from 'vitest';

import { checkMemory, estimateCallMemory, LatentlabError, type ModelConfigs, StableDiffusionPipeline } from '../../src/node.js';
import { fixturePath } from '../helpers/fixtures.js';

const configs = async (): Promise<ModelConfigs> => {
  const pipe = await StableDiffusionPipeline.fromPretrained(fixturePath('pipelines', 'tiny-sd15'));
  return { unet: pipe.unet.config, vae: pipe.vae.config, textEncoder: pipe.textEncoder.config };
};

describe('estimateCallMemory', () => {
  it('grows linearly with the batch and the pixels; counts the probabilities only for plain attention', async () => {
    const c = await configs();
    const one = estimateCallMemory(c, { batch: 1, width: 256, height: 256, guidance: true });
    const four = estimateCallMemory(c, { batch: 4, width: 256, height: 256, guidance: true });
    const big = estimateCallMemory(c, { batch: 1, width: 512, height: 512, guidance: true });
    const plain = estimateCallMemory(c, { batch: 1, width: 256, height: 256, guidance: true, attention: 'plain' });
    const phase = (e: typeof one, name: string) => e.phases.find((p) => p.phase === name)!;
    expect(phase(four, 'unet').activations).toBeCloseTo(4 * phase(one, 'unet').activations, -2);
    expect(phase(big, 'vae_decoder').activations).toBeCloseTo(4 * phase(one, 'vae_decoder').activations, -2);
    expect(phase(plain, 'unet').activations).toBeGreaterThan(phase(one, 'unet').activations);
    expect(phase(one, 'unet').weights).toBe(phase(four, 'unet').weights);
    expect(one.total).toBeGreaterThan(one.peak.bytes);
    expect(one.phases.map((p) => p.phase)).toEqual(['text_encoder', 'unet', 'vae_decoder']);
    expect(estimateCallMemory(c, { batch: 1, width: 64, height: 64, guidance: false, img2img: true }).phases.map((p) => p.phase)).toContain('vae_encoder');
  });

  it('checkMemory refuses over the limit, naming the caller\'s words', async () => {
    const e = estimateCallMemory(await configs(), { batch: 2, width: 512, height: 512, guidance: true });
    expect(() => checkMemory(e, e.total + 1)).not.toThrow();
    let err: unknown;
    try {
      checkMemory(e, 1024, { size: 'size', batch: 'batch', limit: 'the cap' });
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(LatentlabError);
    expect((err as LatentlabError).code).toBe('RESOURCE_MEMORY');
    expect((err as LatentlabError).message).toMatch(/2 images of 512×512 need an estimated .* more than the limit of 1.00 KiB \(the cap\)[\s\S]*raise the cap/);
  });
});
