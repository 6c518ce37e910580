// SVG pictures rendered through sharp/librsvg: right sizes, real pixels, and text that actually
// shows up (dark pixels where the labels are) with the generic sans-serif font.
import '../../src/platform/node/index.js';

import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { imageGrid, latentChannelGrid } from '../../src/image/grid.js';
import { heatmapSvg } from '../../src/image/heatmap.js';
import { linePlotSvg } from '../../src/image/plot.js';
import { createRgbImage, pixelAt, type RgbImage } from '../../src/image/rgb-image.js';
import { decodeImage, labelledImageToSvg, renderLabels, renderSvg, svgToPng } from '../../src/platform/node/image.js';
import { loadTensors } from '../helpers/fixtures.js';
import { checkWellFormedXml } from '../image/xml-check.js';
import { expectCode } from '../weights/tmp.js';

/** Pixels darker than mid-grey inside the box [x0, x1) × [y0, y1). */
function darkPixels(im: RgbImage, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = Math.max(0, y0); y < Math.min(im.height, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(im.width, x1); x++) {
      const [r, g, b] = pixelAt(im, x, y);
      if (r + g + b < 3 * 100) n++;
    }
  }
  return n;
}

describe('svgToPng / renderSvg', () => {
  const plot = linePlotSvg({
    title: 'Euler: timesteps and sigmas', xLabel: 'step', yLabel: 'timestep', yLabelRight: 'sigma',
    series: [{ name: 'timesteps', y: [999, 749, 499, 249, 0] }, { name: 'sigmas', y: [14.6, 3.2, 1.1, 0.3, 0], axis: 'right' }],
  });

  it('renders a line plot at 1× and 2× with visible title text', async () => {
    const png = await svgToPng(plot);
    const im = await decodeImage(png);
    expect([im.width, im.height]).toEqual([640, 400]);
    expect(darkPixels(im, 170, 5, 470, 35)).toBeGreaterThan(100); // the bold title
    const big = await decodeImage(await svgToPng(plot, { scale: 2 }));
    expect([big.width, big.height]).toEqual([1280, 800]);
    const colours = new Set<number>();
    for (let i = 0; i < im.data.length; i += 3) colours.add((im.data[i] << 16) | (im.data[i + 1] << 8) | im.data[i + 2]);
    expect(colours.size).toBeGreaterThan(20); // lines, anti-aliased text, grid
  });

  it('renders a heat map with row labels in the left margin', async () => {
    const svg = heatmapSvg({ values: [[1, 0.2], [0.2, 1]], rowLabels: ['puppy', 'kitten'], colLabels: ['puppy', 'kitten'], title: 'similarity' });
    const im = await renderSvg(svg);
    const labelsOnly = await renderSvg(svg.replace(/>(puppy|kitten)</g, '><'));
    const left = Math.floor(Number(svg.match(/<rect x="([\d.]+)" y="[\d.]+" width="64"/)![1])); // the first cell
    expect(darkPixels(im, 0, 0, left, im.height)).toBeGreaterThan(darkPixels(labelsOnly, 0, 0, left, im.height) + 50);
  });

  it('refuses what is not SVG', async () => {
    await expectCode(svgToPng('hello'), 'IMAGE_SVG');
    await expectCode(svgToPng('<svg xmlns="http://www.w3.org/2000/svg"><rect</svg>'), 'IMAGE_SVG');
    await expectCode(svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>', { scale: 0 }), 'IMAGE_ARGUMENT');
  });
});

describe('labelled grids', () => {
  it('renderLabels draws the channel labels into the band and leaves the tiles alone', async () => {
    const t = await loadTensors('reference', 'tiny-sd15', 'txt2img', 'sd15_pndm_64x64.safetensors');
    const grid = latentChannelGrid(t.get('final_latents')!, { upscale: 16, gap: 4 });
    const flat = await renderLabels(grid);
    expect([flat.width, flat.height]).toEqual([grid.image.width, grid.image.height]);
    const band = Math.ceil(13 * 1.5);
    expect(darkPixels(grid.image, 0, 0, grid.image.width, 4 + band)).toBe(0);
    expect(darkPixels(flat, 0, 0, flat.width, 4 + band)).toBeGreaterThan(200);
    const [tx, ty] = [grid.image.width - 40, grid.image.height - 20];
    expect(pixelAt(flat, tx, ty)).toEqual(pixelAt(grid.image, tx, ty));
  });

  it('labelledImageToSvg embeds the pixels as PNG; librsvg renders them back', async () => {
    const red = createRgbImage(40, 30, [230, 20, 20]);
    const green = createRgbImage(40, 30, [20, 200, 40]);
    const grid = imageGrid([red, green], { labels: ['red', 'green <&>'], title: 'colours' });
    const svg = await labelledImageToSvg(grid);
    checkWellFormedXml(svg);
    expect(svg).toContain('href="data:image/png;base64,');
    const im = await renderSvg(svg);
    expect([im.width, im.height]).toEqual([grid.image.width, grid.image.height]);
    const p = grid.labels.find((l) => l.text === 'red')!;
    expect(pixelAt(im, Math.round(p.x), im.height - 10)).toEqual([230, 20, 20]);
    expect(darkPixels(im, 0, 0, im.width, Math.ceil(p.y) + 2)).toBeGreaterThan(50); // title and labels
  });

  it('labels with CJK and emoji render without breaking the document', async () => {
    const grid = imageGrid([createRgbImage(64, 64, [200, 200, 200])], { labels: ['猫 🐱'] });
    const flat = await renderLabels(grid);
    expect(darkPixels(flat, 0, 0, flat.width, 24)).toBeGreaterThan(10);
  });

  it('an all-NaN or empty-ish latent still renders', async () => {
    const grid = latentChannelGrid(Tensor.full([4, 2, 2], NaN), { upscale: 4 });
    const flat = await renderLabels(grid);
    expect(flat.width).toBe(grid.image.width);
  });
});
