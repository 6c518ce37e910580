// --loss-guidance: the presets' syntax and defaults, the option entries they map to, and what a run
// records (the --json settings and the PNG's A1111 text). The preset against the notebook's
// hand-written loop, bit for bit: test/examples/deep-dive.test.ts.

import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { lossGuidanceEntry, lossGuidanceFlag, lossGuidanceText } from '../../src/cli/loss-guidance.js';
import { blueLoss, Graph, LatentlabError, parseA1111Parameters, readPngText, runtime, Tensor } from '../../src/node.js';
import { parseReport, runCli, tempDir, TINY_SD15 } from './run-cli.js';

describe('--loss-guidance presets', () => {
  it('parse with the notebook\'s defaults (scale 200, every 5) and collect when repeated', () => {
    expect(lossGuidanceFlag('blue', undefined)).toEqual([{ preset: 'blue', scale: 200, every: 5 }]);
    const two = lossGuidanceFlag('color=#FF8000:300:2', lossGuidanceFlag('blue:50', undefined));
    expect(two).toEqual([{ preset: 'blue', scale: 50, every: 5 }, { preset: 'color', color: '#ff8000', scale: 300, every: 2 }]);
    expect(two.map(lossGuidanceText)).toEqual(['blue:50:5', 'color=#ff8000:300:2']);
    expect(lossGuidanceEntry(two[0])).toEqual({ loss: blueLoss, scale: 50, every: 5 });
  });

  it.each(['red', 'blue:', 'blue:many', 'blue:200:0', 'blue:200:2.5', 'blue:1:2:3', 'color=#ff80', 'color=ff8000', 'color=#ff800g'])('refuses %j', (text) => {
    let error: unknown;
    try {
      lossGuidanceFlag(text, undefined);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LatentlabError);
    expect((error as LatentlabError).code).toBe('CLI_ARGUMENT');
    expect((error as Error).message).toContain(`--loss-guidance ${JSON.stringify(text)}: expected blue[:SCALE[:EVERY]] or color=#RRGGBB[:SCALE[:EVERY]]`);
  });

  it('color=#RRGGBB is the mean over the channels of |image[:, c] − target_c|, target = byte/255', async () => {
    const [entry] = lossGuidanceFlag('color=#ff8000', undefined).map(lossGuidanceEntry);
    const g = new Graph('color');
    const image = g.input('image', 'float32', [1, 3, 2, 2]);
    g.output('loss', entry.loss(image));
    g.output('blue', blueLoss(image));
    const pixels = Array.from({ length: 12 }, (_, i) => (i * 7) % 11 / 10);
    const r = await (await runtime().compile(g, new Map())).run({ image: Tensor.float32([1, 3, 2, 2], pixels) });
    const target = [1, 128 / 255, 0];
    const perChannel = target.map((c, k) => pixels.slice(4 * k, 4 * k + 4).reduce((s, v) => s + Math.abs(v - c), 0) / 4);
    expect(r.loss.data[0]).toBeCloseTo(perChannel.reduce((a, b) => a + b) / 3, 6);
    expect(r.blue.data[0]).toBeCloseTo(pixels.slice(8).reduce((s, v) => s + Math.abs(v - 0.9), 0) / 4, 6);
  });
});

describe('generate --loss-guidance', () => {
  it('records the presets in the --json settings and the PNG\'s parameters', async () => {
    const dir = tempDir();
    const out = join(dir, 'guided.png');
    const r = await runCli(['generate', '--model', TINY_SD15, '--prompt', 'a lake', '--steps', '3', '--seed', '1', '--scheduler', 'euler',
      '--loss-guidance', 'blue:300:2', '--loss-guidance', 'color=#FF8000', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(parseReport(r).settings.lossGuidance).toEqual(['blue:300:2', 'color=#ff8000:200:5']);
    const text = (await readPngText(out)).parameters;
    expect(text).toContain('Loss guidance: "blue:300:2, color=#ff8000:200:5"');
    expect(parseA1111Parameters(text).extra?.['Loss guidance']).toBe('blue:300:2, color=#ff8000:200:5');
  });
});
