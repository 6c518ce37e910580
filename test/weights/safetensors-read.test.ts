import { describe, expect, it } from 'vitest';

import { loadTensors } from '../helpers/fixtures.js';

describe('safetensors reading (fixtures)', () => {
  it('reads the scheduler training tables', async () => {
    const t = await loadTensors('schedulers', 'common.safetensors');
    const betas = t.get('betas')!;
    expect(betas.dtype).toBe('float32');
    expect([...betas.shape]).toEqual([1000]);
    expect(betas.data[0]).toBeCloseTo(0.00085, 8);
  });
});
