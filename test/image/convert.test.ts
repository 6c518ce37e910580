// postprocess / preprocess against diffusers' own bytes: every txt2img and img2img fixture case.
import { readdirSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { postprocess, preprocess, preprocessBatch, roundHalfEven } from '../../src/image/convert.js';
import { fixturePath, loadTensors } from '../helpers/fixtures.js';
import { expectCode } from '../weights/tmp.js';

const cases = ['tiny-sd15', 'tiny-sd2'].flatMap((model) => ['txt2img', 'img2img'].flatMap((kind) =>
  readdirSync(fixturePath('reference', model, kind)).filter((f) => f.endsWith('.safetensors'))
    .map((f) => ({ model, kind, name: f.replace('.safetensors', '') }))));

describe('postprocess (VaeImageProcessor.postprocess, output_type="pil")', () => {
  it('finds all fixture cases', () => expect(cases.length).toBe(8));

  it.each(cases)('$model/$kind/$name: image_uint8 bit for bit from image_decoded', async ({ model, kind, name }) => {
    const t = await loadTensors('reference', model, kind, `${name}.safetensors`);
    const decoded = t.get('image_decoded')!;
    const expected = t.get('image_uint8')!;
    const [batch, height, width] = expected.shape;
    const images = postprocess(decoded);
    expect(images.length).toBe(batch);
    images.forEach((im, b) => {
      expect([im.width, im.height]).toEqual([width, height]);
      const ref = (expected.data as Uint8Array).subarray(b * height * width * 3, (b + 1) * height * width * 3);
      let mismatches = 0;
      for (let i = 0; i < ref.length; i++) if (im.data[i] !== ref[i]) mismatches++;
      expect(mismatches, `${name}[${b}]: bytes differing from diffusers`).toBe(0);
    });
  });

  it('rounds halves to even: x = -0.4941176176071167 gives x01·255 = 64.5 exactly → 64, not 65', () => {
    // The fixtures contain no exact halves, so this case is the one that tells the rounding modes apart.
    const x = Math.fround(-0.4941176176071167);
    expect(Math.fround(Math.fround(x / 2 + 0.5) * 255)).toBe(64.5);
    const [im] = postprocess(Tensor.float32([1, 3, 1, 1], [x, x, x]));
    expect(Array.from(im.data)).toEqual([64, 64, 64]);
  });

  it('clamps before scaling and turns NaN into 0', () => {
    expect([0.5, 1.5, 2.5, 12.5, 13.5, 254.5, 3.4999, 3.5001].map(roundHalfEven)).toEqual([0, 2, 2, 12, 14, 254, 3, 4]);
    // x01 = 12.5/255 exactly is not a float32, so build values whose float32 product hits .5.
    const x = Tensor.float32([1, 3, 1, 4], [-5, 5, NaN, 0, -1, 1, 0, 0, 0, 0, 0, 0]);
    const [im] = postprocess(x);
    expect(im.data[0]).toBe(0); // -5 clamps to 0
    expect(im.data[3]).toBe(255); // 5 clamps to 255
    expect(im.data[6]).toBe(0); // NaN → 0
    expect(im.data[9]).toBe(128); // 0 → 0.5·255 = 127.5 → 128 (even)
  });

  it('rejects latents and non-float tensors', async () => {
    await expectCode(() => postprocess(new Tensor('float32', [1, 4, 8, 8])), 'IMAGE_TENSOR');
    await expectCode(() => postprocess(new Tensor('uint8', [1, 3, 8, 8])), 'IMAGE_TENSOR');
  });
});

describe('preprocess (VaeImageProcessor.preprocess)', () => {
  const img2img = cases.filter((c) => c.kind === 'img2img');
  it.each(img2img)('$model/$name: preprocessed_image bit for bit from input_image_uint8', async ({ model, kind, name }) => {
    const t = await loadTensors('reference', model, kind, `${name}.safetensors`);
    const u8 = t.get('input_image_uint8')!;
    const [height, width] = u8.shape;
    const x = preprocess({ width, height, data: u8.data as Uint8Array });
    const ref = t.get('preprocessed_image')!;
    expect([...x.shape]).toEqual([...ref.shape]);
    let mismatches = 0;
    for (let i = 0; i < ref.size; i++) if (!Object.is(x.data[i], (ref.data as Float32Array)[i])) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('batches images of one size and refuses mixed sizes', async () => {
    const a = { width: 2, height: 1, data: new Uint8Array([0, 0, 0, 255, 255, 255]) };
    const b = { width: 2, height: 1, data: new Uint8Array([255, 0, 0, 0, 0, 255]) };
    const x = preprocessBatch([a, b]);
    expect([...x.shape]).toEqual([2, 3, 1, 2]);
    expect(Array.from(x.data)).toEqual([-1, 1, -1, 1, -1, 1, 1, -1, -1, -1, -1, 1]);
    await expectCode(() => preprocessBatch([a, { width: 1, height: 2, data: a.data }]), 'IMAGE_SIZE');
    await expectCode(() => preprocess({ width: 2, height: 2, data: a.data }), 'IMAGE_INVALID');
  });
});
