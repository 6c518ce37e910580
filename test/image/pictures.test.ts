// Picture helpers: channel grids (sizes and exact grey values), image grids, colour scaling,
// ticks, and SVG outputs that are well-formed XML with escaped text.
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { colormap, NAN_COLOR, normalize, valueRange } from '../../src/image/colormap.js';
import { imageGrid, labelledImageSvg, labelOverlaySvg, latentChannelGrid } from '../../src/image/grid.js';
import { heatmapSvg } from '../../src/image/heatmap.js';
import { linePlotSvg } from '../../src/image/plot.js';
import { blit, createRgbImage, pixelAt, upscaleNearest } from '../../src/image/rgb-image.js';
import { escapeXml, fitText } from '../../src/image/svg.js';
import { formatTick, linearTicks, logTicks } from '../../src/image/ticks.js';
import { expectCode } from '../weights/tmp.js';
import { checkWellFormedXml } from './xml-check.js';

describe('RgbImage helpers', () => {
  it('upscaleNearest repeats pixels; blit clips at the edges', () => {
    const im = { width: 2, height: 1, data: Uint8Array.of(1, 2, 3, 4, 5, 6) };
    const up = upscaleNearest(im, 3);
    expect([up.width, up.height]).toEqual([6, 3]);
    expect(pixelAt(up, 2, 2)).toEqual([1, 2, 3]);
    expect(pixelAt(up, 3, 0)).toEqual([4, 5, 6]);
    const canvas = createRgbImage(3, 2, [9, 9, 9]);
    blit(canvas, im, 2, 1);
    expect(Array.from(canvas.data)).toEqual([9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3]);
  });
});

describe('colour scaling', () => {
  it('ignores NaN/Inf, supports robust and centred ranges, never divides by zero', () => {
    expect(valueRange([1, NaN, 3, Infinity, -Infinity, 2])).toEqual({ min: 1, max: 3, nonFinite: 3 });
    expect(valueRange([NaN])).toEqual({ min: 0, max: 0, nonFinite: 1 });
    const outlier = [...Array.from({ length: 99 }, (_, i) => i / 98), 1000];
    const robust = valueRange(outlier, { robust: true });
    expect(robust.max).toBeLessThan(2);
    expect(valueRange([-1, 3], { center: 0 })).toMatchObject({ min: -3, max: 3 });
    expect([normalize(5, 5, 5), normalize(Infinity, 0, 1), normalize(-Infinity, 0, 1), normalize(2, 0, 1)]).toEqual([0.5, 1, 0, 1]);
    expect(Number.isNaN(normalize(NaN, 0, 1))).toBe(true);
    expect(colormap('viridis', NaN)).toEqual(NAN_COLOR);
    expect([colormap('viridis', 0), colormap('viridis', 1), colormap('rdbu', 0.5)]).toEqual([[0x44, 0x01, 0x54], [0xfd, 0xe7, 0x25], [0xf7, 0xf7, 0xf7]]);
  });
});

describe('latentChannelGrid', () => {
  // [1, 4, 2, 3]: channel c holds c*10 + 0..5, except a few special values.
  const values = Array.from({ length: 24 }, (_, i) => Math.floor(i / 6) * 10 + (i % 6));
  values[6 + 1] = NaN; // channel 1, pixel (1, 0)
  values[12 + 5] = Infinity; // channel 2, pixel (2, 1)
  const latents = Tensor.float32([1, 4, 2, 3], values);

  it('lays out one tile per channel, upscaled, with a label band', () => {
    const g = latentChannelGrid(latents, { upscale: 10, gap: 4, labels: false });
    // 4 tiles of 30 × 20 px, 4 px gaps around and between, no labels → no band.
    expect([g.image.width, g.image.height]).toEqual([4 + 4 * (30 + 4), 4 + 20 + 4]);
    expect(g.labels).toEqual([]);
    const labelled = latentChannelGrid(latents, { upscale: 10, gap: 4 });
    expect(labelled.labels.map((l) => l.text)).toEqual(['channel 0 [0, 5]', 'channel 1 [10, 15]', 'channel 2 [20, 24]', 'channel 3 [30, 35]']);
    expect(labelled.image.height).toBeGreaterThan(g.image.height);
  });

  it('maps each channel over its own range by default, black to white', () => {
    const g = latentChannelGrid(latents, { upscale: 10, gap: 4, labels: false });
    const tile = (c: number, x: number, y: number) => pixelAt(g.image, 4 + c * 34 + x * 10 + 5, 4 + y * 10 + 5);
    expect(tile(0, 0, 0)).toEqual([0, 0, 0]); // min → black
    expect(tile(0, 2, 1)).toEqual([255, 255, 255]); // max → white
    expect(tile(0, 1, 0)).toEqual([51, 51, 51]); // 1/5 of the way
    expect(tile(1, 1, 0)).toEqual([...NAN_COLOR]); // NaN is magenta, visibly not data
    expect(tile(2, 2, 1)).toEqual([255, 255, 255]); // +Inf clamps to white; range is from the finite values
    expect(tile(2, 1, 1)).toEqual([255, 255, 255]); // 24 is the finite max of channel 2
    expect(pixelAt(g.image, 0, 0)).toEqual([255, 255, 255]); // the gap is background
  });

  it('shares one range across channels on request', () => {
    const g = latentChannelGrid(latents, { upscale: 10, gap: 4, labels: false, scaling: 'shared' });
    const tile = (c: number, x: number, y: number) => pixelAt(g.image, 4 + c * 34 + x * 10 + 5, 4 + y * 10 + 5);
    expect(tile(0, 0, 0)).toEqual([0, 0, 0]);
    expect(tile(3, 2, 1)).toEqual([255, 255, 255]);
    expect(tile(1, 0, 0)).toEqual([73, 73, 73]); // 10 of 0…35
  });

  it('gives a 64×64 latent 256-px tiles by default, and one row per batch item', () => {
    const g = latentChannelGrid(new Tensor('float32', [2, 4, 64, 64]), { labels: false, gap: 0 });
    expect([g.image.width, g.image.height]).toEqual([4 * 256, 2 * 256]);
    expect(pixelAt(g.image, 10, 10)).toEqual([128, 128, 128]); // constant channel → mid grey
  });

  it('refuses what is not a float tensor of rank 3 or 4', async () => {
    await expectCode(() => latentChannelGrid(new Tensor('int32', [4, 2, 2])), 'IMAGE_TENSOR');
    await expectCode(() => latentChannelGrid(new Tensor('float32', [16])), 'IMAGE_TENSOR');
  });
});

describe('imageGrid', () => {
  const red = createRgbImage(20, 10, [255, 0, 0]);
  const blue = createRgbImage(10, 20, [0, 0, 255]);

  it('places images in equal cells, centred, with labels above and a title', () => {
    const g = imageGrid([red, blue, red], { columns: 2, gap: 2, fontSize: 10 });
    expect([g.image.width, g.image.height]).toEqual([2 + 2 * 22, 2 + 2 * 22]);
    expect(pixelAt(g.image, 2, 2 + 5)).toEqual([255, 0, 0]);
    expect(pixelAt(g.image, 24 + 5 + 5, 2 + 10)).toEqual([0, 0, 255]);
    const labelled = imageGrid([red, blue], { labels: ['red & <b>', ''], title: 'Two colours' });
    expect(labelled.labels.map((l) => l.text)).toEqual(['Two colours', 'red & <b>']);
  });

  it('checks its arguments', async () => {
    await expectCode(() => imageGrid([]), 'IMAGE_ARGUMENT');
    await expectCode(() => imageGrid([red], { labels: ['a', 'b'] }), 'IMAGE_ARGUMENT');
    await expectCode(() => imageGrid([{ width: 2, height: 2, data: new Uint8Array(3) }]), 'IMAGE_INVALID');
  });
});

describe('SVG output', () => {
  it('escapes XML specials and drops characters XML cannot hold', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
    expect(escapeXml('bell\u0007 lone\ud800 pair🐱 tab\tnewline\n')).toBe('bell\ufffd lone\ufffd pair🐱 tab\tnewline\n');
    expect(fitText('a long label indeed', 60, 10)).toBe('a long la…');
    expect(fitText('猫猫猫猫猫猫', 35, 10)).toBe('猫猫…');
  });

  it('line plot: well-formed, titled, lines broken at NaN, log axis skipping values ≤ 0', () => {
    const svg = linePlotSvg({
      title: 'timesteps & sigmas <PNDM>', xLabel: 'step', yLabel: 'timestep', yLabelRight: 'σ',
      series: [{ name: 'timesteps', y: [999, 799, NaN, 399, 199] }, { name: 'sigmas', y: [14.6, 4, 0, 0.5, Infinity], axis: 'right' }],
      yScaleRight: 'log',
    });
    checkWellFormedXml(svg);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg).toContain('timesteps &amp; sigmas &lt;PNDM&gt;');
    const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1]);
    expect(paths.map((d) => d.split('M').length - 1)).toEqual([2, 2]); // each line in two pieces
    expect(svg).toContain('>10<'); // a log tick
  });

  it('heat map: well-formed, labels, annotations, NaN cell, colour bar; diverging for mixed signs', () => {
    const svg = heatmapSvg({ values: [[1, -0.5], [NaN, 0.25]], rowLabels: ['puppy', 'cat & dog'], colLabels: ['a', 'b'], title: 'cosine' });
    checkWellFormedXml(svg);
    expect(svg).toContain('>cat &amp; dog<');
    expect(svg).toContain('>NaN<');
    expect(svg).toContain('>-0.5<');
    expect(svg).toContain('fill="#67001f"'); // +1 is the darkest red of RdBu (range symmetric: ±1)
    expect(svg).toContain('linearGradient');
    const positive = heatmapSvg({ values: new Tensor('float32', [2, 2], Float32Array.of(0, 1, 2, 3)) });
    checkWellFormedXml(positive);
    expect(positive).toContain('fill="#440154"'); // one-signed → viridis from its min
  });

  it('heat map checks its arguments', async () => {
    await expectCode(() => heatmapSvg({ values: [[1, 2], [3]] }), 'PLOT_ARGUMENT');
    await expectCode(() => heatmapSvg({ values: [[1, 2]], colLabels: ['a'] }), 'PLOT_ARGUMENT');
    await expectCode(() => heatmapSvg({ values: [[1, 2]], range: [1, 1] }), 'PLOT_ARGUMENT');
    await expectCode(() => linePlotSvg({ series: [] }), 'PLOT_ARGUMENT');
  });

  it('label overlay and embedded-image SVGs are well-formed', () => {
    const g = imageGrid([createRgbImage(8, 8)], { labels: ['"quoted" <label>'] });
    checkWellFormedXml(labelOverlaySvg(g));
    const doc = labelledImageSvg(g, 'data:image/png;base64,AAAA&x="y"');
    checkWellFormedXml(doc);
    expect(doc).toContain('href="data:image/png;base64,AAAA&amp;x=&quot;y&quot;"');
  });
});

describe('ticks', () => {
  it('chooses 1-2-5 steps and widens to whole steps', () => {
    expect(linearTicks(0, 999)).toMatchObject({ min: 0, max: 1000, step: 200, ticks: [0, 200, 400, 600, 800, 1000] });
    expect(linearTicks(0.03, 14.6).step).toBe(2);
    expect(linearTicks(0.1, 0.7).ticks).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    expect(linearTicks(3, 3).ticks.length).toBeGreaterThan(1);
    expect(logTicks(0.03, 14.6).ticks).toEqual([0.01, 0.1, 1, 10, 100]);
    expect(logTicks(2, 30).ticks).toEqual([1, 2, 5, 10, 20, 50, 100]);
    expect([formatTick(0.30000000000000004, 0.1), formatTick(1e-5), formatTick(250000), formatTick(1.5)]).toEqual(['0.3', '1e-5', '2.5e5', '1.5']);
  });
});
