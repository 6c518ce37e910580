// The LDM → diffusers renaming against the fixture keymaps (README §15), which diffusers' own
// conversion functions reproduce bit for bit: every LDM key lands on its diffusers key with the
// stated transform, as a reference into the file (offset + shape), not a copy.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../../src/platform/node/index.js';
import type { ExternalTensor } from '../../../src/core/external.js';
import { WeightSet } from '../../../src/weights/index.js';
import { clipRefs, openClipLayers, openClipRefs, unetLayersPerBlock, unetRefs, vaeRefs, VAE_PREFIX } from '../../../src/weights/single-file/ldm-keys.js';

const DIR = 'test/fixtures/conformance/single_file';

describe.each(['tiny-sd15', 'tiny-sd2'])('LDM keys of %s', (name) => {
  it('map to the keymap\'s diffusers keys, in place', async () => {
    const file = await WeightSet.open([join(DIR, `${name}.safetensors`)]);
    const keymap = JSON.parse(readFileSync(join(DIR, `${name}.keymap.json`), 'utf8')).keys as Record<string, [string, string, string]>;
    const L = unetLayersPerBlock(file.keys)!;
    expect(L).toBe(name === 'tiny-sd15' ? 2 : 1);
    const text = name === 'tiny-sd15' ? clipRefs(file) : openClipRefs(file, openClipLayers(file.keys));
    const parts: Record<string, Map<string, unknown>> = { unet: unetRefs(file, L), vae: vaeRefs(file, VAE_PREFIX), text_encoder: text };
    let n = 0;
    for (const [ldm, [component, key, transform]] of Object.entries(keymap)) {
      const src = file.ref(ldm);
      if (transform.startsWith('concatenate')) {
        const parts3 = ['q', 'k', 'v'].map((p) => parts[component].get(key.replace('{q,k,v}', p)) as ExternalTensor);
        const rowBytes = src.length / 3;
        parts3.forEach((r, i) => {
          expect(r.offset).toBe(src.offset + i * rowBytes);
          expect(r.shape).toEqual([src.shape[0] / 3, ...src.shape.slice(1)]);
        });
      } else {
        const r = parts[component].get(key) as ExternalTensor | undefined;
        expect(r, `${ldm} → ${component} ${key}`).toBeDefined();
        expect([r!.file, r!.offset, r!.length]).toEqual([src.file, src.offset, src.length]);
        if (transform.startsWith('reshape')) expect(r!.shape).toEqual(src.shape.slice(0, 2));
      }
      n++;
    }
    const mapped = [...Object.values(parts)].reduce((a, m) => a + m.size, 0);
    // Every mapped key comes from the keymap (a fused q/k/v gives three); nothing extra is invented.
    const fused = Object.values(keymap).filter(([, , t]) => t.startsWith('concatenate')).length;
    expect(mapped).toBe(n + 2 * fused + (name === 'tiny-sd15' ? 1 : 0)); // + CLIP's position_ids buffer
  });
});
