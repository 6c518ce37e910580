// CompileOptions.optimizedModelCache: the optimised model is saved on first use, reloaded (without
// re-optimising) next time, and gives the same numbers as a fresh session.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition-model.js';
import { fixturePath, loadTensors } from '../helpers/fixtures.js';

describe('optimizedModelCache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'latentlab-ortcache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function run(options: object): Promise<Tensor<'float32'>> {
    const ref = await loadTensors('reference', 'tiny-sd15', 'unet.safetensors');
    const get = (k: string) => ref.get(`nonsquare_t500_scalar.${k}`)!;
    const unet = await UNet2DConditionModel.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), options);
    try {
      return (await unet.forward(get('sample'), 500, get('encoder_hidden_states'))).sample;
    } finally {
      await unet.release();
    }
  }

  it('writes one entry per model and level, then reuses it with identical results', async () => {
    const fresh = await run({ optimizationLevel: 'all' });
    const first = await run({ optimizationLevel: 'all', optimizedModelCache: dir });
    const entries = readdirSync(dir);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/^unet-[0-9a-f]{20}$/);
    expect(readdirSync(join(dir, entries[0])).sort()).toEqual(['model.data', 'model.onnx']);
    const second = await run({ optimizationLevel: 'all', optimizedModelCache: dir });
    expect(readdirSync(dir)).toEqual(entries);
    expect(Array.from(first.data)).toEqual(Array.from(fresh.data));
    expect(Array.from(second.data)).toEqual(Array.from(fresh.data));
    await run({ optimizationLevel: 'basic', optimizedModelCache: dir, variant: 'fp16' });
    expect(readdirSync(dir)).toHaveLength(2);
  });
});
