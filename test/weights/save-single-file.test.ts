// Saving a diffusers folder as one LDM checkpoint (weights/single-file/save.ts) against the files
// diffusers' own conversion script made (README §15): the tiny SD 1.5 fp16 weights come out bit for
// bit as single_file/tiny-sd15.safetensors (same keys, same bytes), the tiny SD 2 float32 weights
// as tiny-sd2.safetensors plus the OpenCLIP top block our files add; and the saved files load back
// (SD 1 layout, SD 2 layout, and the 9-channel inpainting UNet, which routes to inpainting).
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readWeightData } from '../../src/weights/source.js';
import { savePipelineAsSingleFile } from '../../src/pipelines/single-file.js';
import { openSingleFile } from '../../src/weights/single-file/single-file.js';
import { WeightSet } from '../../src/weights/weight-set.js';
import { fixturePath } from '../helpers/fixtures.js';
import { tempDir } from '../cli/run-cli.js';

async function sameBytes(a: WeightSet, b: WeightSet, keys: readonly string[]): Promise<string[]> {
  const differ: string[] = [];
  for (const k of keys) {
    const [x, y] = await Promise.all([readWeightData(a.ref(k)), readWeightData(b.ref(k))]);
    const bx = new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength);
    const by = new Uint8Array(y.data.buffer, y.data.byteOffset, y.data.byteLength);
    if (x.dtype !== y.dtype || x.shape.join() !== y.shape.join() || !Buffer.from(bx).equals(Buffer.from(by))) differ.push(k);
  }
  return differ;
}

describe('savePipelineAsSingleFile', () => {
  it('tiny-sd15 (fp16) is diffusers\' converted file bit for bit', async () => {
    const out = join(tempDir(), 'tiny-sd15.safetensors');
    expect(await savePipelineAsSingleFile(fixturePath('pipelines', 'tiny-sd15'), out, { variant: 'fp16' })).toBe('sd1');
    const [mine, ref] = await Promise.all([WeightSet.open([out]), WeightSet.open([fixturePath('single_file', 'tiny-sd15.safetensors')])]);
    expect([...mine.keys].sort()).toEqual([...ref.keys].sort());
    expect(await sameBytes(mine, ref, ref.keys)).toEqual([]);
  });

  it('tiny-sd2 is diffusers\' converted file, plus the unused OpenCLIP top block', async () => {
    const out = join(tempDir(), 'tiny-sd2.safetensors');
    expect(await savePipelineAsSingleFile(fixturePath('pipelines', 'tiny-sd2'), out)).toBe('sd2');
    const [mine, ref] = await Promise.all([WeightSet.open([out]), WeightSet.open([fixturePath('single_file', 'tiny-sd2.safetensors')])]);
    const extraInRef = ['cond_stage_model.model.logit_scale', 'cond_stage_model.model.text_projection'];
    const shared = ref.keys.filter((k) => !extraInRef.includes(k));
    expect(await sameBytes(mine, ref, shared)).toEqual([]);
    const top = Math.max(...ref.keys.map((k) => /resblocks\.(\d+)\./.exec(k)?.[1]).filter(Boolean).map(Number)) + 1;
    const added = mine.keys.filter((k) => !ref.has(k));
    expect(added.length).toBeGreaterThan(0);
    expect(added.every((k) => k.startsWith(`cond_stage_model.model.transformer.resblocks.${top}.`))).toBe(true);
    // Without a YAML the loader reads "penultimate": exactly the folder's layers.
    const sf = await openSingleFile(out);
    expect(sf.family).toBe('sd2');
    expect(sf.configs.textEncoder.num_hidden_layers).toBe(top);
  });

  it('the inpainting folder saves and opens with its 9 input channels', async () => {
    const out = join(tempDir(), 'tiny-sd15-inpaint.safetensors');
    await savePipelineAsSingleFile(fixturePath('pipelines', 'tiny-sd15-inpaint'), out);
    const sf = await openSingleFile(out);
    expect(sf.configs.unet.in_channels).toBe(9);
  });

  it('refuses another extension', async () => {
    await expect(savePipelineAsSingleFile(fixturePath('pipelines', 'tiny-sd15'), join(tempDir(), 'x.ckpt'))).rejects.toMatchObject({ code: 'SINGLE_FILE_SAVE' });
  });
});
