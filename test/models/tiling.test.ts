// Seamless tiling (AUTOMATIC1111's `tiling`: every Conv2d with padding_mode="circular"). First the
// circular conv against hand-computed outputs, then the property that defines a tiled network: it
// is a function on the torus, so rolling its input rolls its output (by the same amount times the
// size factor). Convs with circular padding, nearest upsampling, group norm and attention (no
// positional encoding) all commute with a roll; the UNet's stride-2 downsamplers only with a roll
// by a multiple of 2 per level, hence the shifts of 8 latent pixels (three downsamplers). With
// zero padding the edges break the property, which the untiled runs show.

import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { Module } from '../../src/graph/graph.js';
import { conv2d, withConvPaddingMode } from '../../src/nn/layers.js';
import { downsample } from '../../src/nn/resnet.js';
import { AutoencoderKL } from '../../src/models/autoencoder-kl.js';
import { AutoencoderTiny } from '../../src/models/autoencoder-tiny.js';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition-model.js';
import { evaluate, randn } from '../graph/harness.js';
import { fixturePath } from '../helpers/fixtures.js';
import { roll } from '../helpers/roll.js';

const TINY = fixturePath('pipelines', 'tiny-sd15');

const maxDiff = (a: Tensor, b: Tensor) => a.toFloat32().data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.toFloat32().data[i])), 0);
const maxAbs = (a: Tensor) => a.toFloat32().data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** One 3×3 conv (no bias) of `x` [1, 1, H, W] with `kernel` under a padding mode, through ONNX Runtime. */
async function conv3x3(x: Tensor<'float32'>, kernel: number[], mode: 'zeros' | 'circular', stride = 1): Promise<number[]> {
  const weights = new Map([['c.weight', Tensor.float32([1, 1, 3, 3], kernel)]]);
  const [y] = await evaluate({ feeds: { x }, weights }, ({ g, x: v }) =>
    withConvPaddingMode(mode, () => conv2d(new Module(g, 'c'), v.x, 1, 1, 3, { padding: 1, stride, bias: false })));
  return Array.from(y.toFloat32().data);
}

describe('the circular conv (nn.conv2d under withConvPaddingMode("circular"))', () => {
  const x3x4 = Tensor.float32([1, 1, 3, 4], Array.from({ length: 12 }, (_, i) => i + 1)); // rows 1‥4, 5‥8, 9‥12

  it('a 3×3 box sum wraps: with 3 rows every window holds whole columns, so each row is [c3+c0+c1, c0+c1+c2, …]', async () => {
    // Column sums c0..c3 = 15, 18, 21, 24: out[·][0] = 24 + 15 + 18 = 57, [1] = 54, [2] = 63, [3] = 60.
    expect(await conv3x3(x3x4, Array(9).fill(1), 'circular')).toEqual([57, 54, 63, 60, 57, 54, 63, 60, 57, 54, 63, 60]);
    // Zero padding, for contrast: the top-left corner sees only 1 + 2 + 5 + 6.
    expect((await conv3x3(x3x4, Array(9).fill(1), 'zeros'))[0]).toBe(14);
  });

  it('the top-left tap reads the pixel up and to the left, wrapping: a roll by (1, 1)', async () => {
    const tap = [1, 0, 0, 0, 0, 0, 0, 0, 0];
    expect(await conv3x3(x3x4, tap, 'circular')).toEqual([12, 9, 10, 11, 4, 1, 2, 3, 8, 5, 6, 7]);
  });

  it('stride 2 (the UNet\'s downsampler): out[i][j] = x[(2i − 1) mod 4][(2j − 1) mod 4]', async () => {
    const x4x4 = Tensor.float32([1, 1, 4, 4], Array.from({ length: 16 }, (_, i) => i + 1)); // x[r][c] = 4r + c + 1
    expect(await conv3x3(x4x4, [1, 0, 0, 0, 0, 0, 0, 0, 0], 'circular', 2)).toEqual([16, 14, 8, 6]);
  });

  it('leaves the VAE encoder\'s explicit zero pad (F.pad right/bottom) alone, and wraps the UNet\'s symmetric one', async () => {
    const x = randn(7, [1, 2, 6, 6]);
    const weights = new Map([['d.conv.weight', randn(8, [2, 2, 3, 3])], ['d.conv.bias', randn(9, [2])]]);
    const run = (mode: 'zeros' | 'circular', padding: 'symmetric' | 'right-bottom') =>
      evaluate({ feeds: { x }, weights }, ({ g, x: v }) => withConvPaddingMode(mode, () => downsample(new Module(g, 'd'), v.x, 2, padding))).then(([y]) => y);
    expect(maxDiff(await run('circular', 'right-bottom'), await run('zeros', 'right-bottom'))).toBe(0);
    expect(maxDiff(await run('circular', 'symmetric'), await run('zeros', 'symmetric'))).toBeGreaterThan(1e-2);
  });
});

describe('tiled networks commute with a roll (tiny-sd15, tiny-taesd)', () => {
  it('UNet: unet(roll(x)) = roll(unet(x)) with tiling, not without; the two sessions never mix', async () => {
    const unet = await UNet2DConditionModel.fromPretrained(TINY);
    const x = randn(1, [1, 4, 16, 24]);
    const ehs = randn(2, [1, 77, 32]);
    const run = async (input: Tensor<'float32'>, tiling: boolean) => (await unet.forward(input, 500, ehs, { tiling })).sample;
    const plain = await run(x, false);
    const tiled = await run(x, true);
    const again = await run(x, false);
    expect(maxDiff(plain, again), 'the untiled session again, after the tiled one').toBe(0);
    expect(maxDiff(plain, tiled), 'tiling changes the prediction').toBeGreaterThan(1e-2);

    const scale = maxAbs(tiled);
    const tiledError = maxDiff(await run(roll(x, 8, 8), true), roll(tiled, 8, 8));
    const plainError = maxDiff(await run(roll(x, 8, 8), false), roll(plain, 8, 8));
    console.log(`UNet roll by (8, 8): tiled max error ${tiledError.toExponential(2)}, untiled ${plainError.toExponential(2)} (max |ε| ${scale.toFixed(2)})`);
    expect(tiledError).toBeLessThan(1e-4 * scale);
    expect(plainError).toBeGreaterThan(1e-2 * scale);
    await unet.release();
  });

  it('AutoencoderKL decoder and AutoencoderTiny decoder: decode(roll(z, 1, 2)) = roll(decode(z), 8, 16)', async () => {
    const kl = await AutoencoderKL.fromPretrained(TINY);
    const taesd = await AutoencoderTiny.fromPretrained(fixturePath('pipelines', 'tiny-taesd'));
    const z = randn(3, [1, 4, 4, 6]);
    for (const [name, decode] of [['AutoencoderKL', (t: Tensor<'float32'>, tiling: boolean) => kl.decode(t, { tiling })], ['AutoencoderTiny', (t: Tensor<'float32'>, tiling: boolean) => taesd.decode(t, { tiling })]] as const) {
      const errors = [];
      for (const tiling of [true, false]) {
        const image = (await decode(z, tiling)).sample;
        errors.push(maxDiff((await decode(roll(z, 1, 2), tiling)).sample, roll(image, 8, 16)) / maxAbs(image));
      }
      console.log(`${name} decode, roll by one latent pixel: relative error tiled ${errors[0].toExponential(2)}, untiled ${errors[1].toExponential(2)}`);
      expect(errors[0], `${name} tiled`).toBeLessThan(1e-4);
      expect(errors[1], `${name} untiled`).toBeGreaterThan(1e-2);
    }
    await kl.release();
    await taesd.release();
  });
});
