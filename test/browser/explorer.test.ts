// The explorer in a real browser: Debian's Chromium (headless, the system binary; no browser
// download), driven by playwright-core, loading the built explorer from `latentlab explore`'s
// server on loopback with the tiny model. The page must load without console errors, show the
// tokenizer's ids, generate the Node pipeline's pixels for the same seed (≤ 1 level off on ≤ 0.5%
// of values), hold and single-step the loop, and run img2img from an uploaded PNG. Screenshots go
// to test-artifacts/ (not committed).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildExplorer } from '../../explorer/build.js';
import { type ExploreServer, startExploreServer } from '../../src/cli/explore-server.js';
import { readImage, StableDiffusionImg2ImgPipeline, StableDiffusionPipeline } from '../../src/node.js';
import { fixturePath } from '../helpers/fixtures.js';
import { pixelDifference } from '../helpers/pixels.js';

export const CHROMIUM = process.env.LATENTLAB_CHROMIUM ?? '/usr/bin/chromium';
const MODEL = fixturePath('pipelines', 'tiny-sd15');
const INIT_PNG = fixturePath('reference', 'tiny-sd15', 'img2img', 'sd15_pndm_img2img_64x64_input.png');
const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const SLOW = 600_000; // Chromium at nice 19 on a busy 2-core machine

// What the page does by default: its prompt, 8 steps of the model's own scheduler, w = 7.5, seed 42.
const CALL = { prompt: 'a red lighthouse', numInferenceSteps: 8, guidanceScale: 7.5, seed: 42 };

interface PageState {
  ready: boolean; busy: boolean; provider?: string; threads: number; steps: number[]; errors: string[];
}

describe('the explorer in headless Chromium', () => {
  let dir: string;
  let server: ExploreServer;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  const state = () => page.evaluate(() => {
    const s = (globalThis as unknown as { explorer: PageState }).explorer;
    return { ready: s.ready, busy: s.busy, provider: s.provider, threads: s.threads, steps: [...s.steps], errors: [...s.errors] };
  });
  const pixels = (which: 'lastImage' | 'lastImg2Img') => page.evaluate((w) => {
    const img = (globalThis as unknown as { explorer: Record<string, { width: number; height: number; data: Uint8Array } | undefined> }).explorer[w];
    return img ? { width: img.width, height: img.height, data: Array.from(img.data) } : undefined;
  }, which);
  const idle = () => page.waitForFunction(() => {
    const s = (globalThis as unknown as { explorer: PageState }).explorer;
    return s.ready && !s.busy;
  }, undefined, { timeout: SLOW, polling: 200 });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium; .ci/run does) or set LATENTLAB_CHROMIUM`);
    }
    dir = await mkdtemp(join(tmpdir(), 'latentlab-explorer-'));
    await buildExplorer(join(dir, 'explorer'));
    server = await startExploreServer({ explorerDir: join(dir, 'explorer'), modelDir: MODEL, port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.goto(server.url, { waitUntil: 'domcontentloaded', timeout: SLOW });
    await idle();
    await mkdir(ARTIFACTS, { recursive: true });
  }, SLOW);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loads the model without console errors, cross-origin isolated (WebAssembly threads)', async () => {
    const s = await state();
    expect(s.errors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    // Threads: as many as the browser reports cores (navigator.hardwareConcurrency), at most 4.
    expect(s.threads).toBe(Math.min(4, await page.evaluate(() => navigator.hardwareConcurrency)));
    expect(await page.locator('#status').getAttribute('data-state')).toBe('ready');
  }, SLOW);

  it("shows the tokenizer's pieces and ids", async () => {
    const node = await StableDiffusionPipeline.fromPretrained(MODEL);
    const ids = node.tokenizer.call([CALL.prompt]).inputIds[0];
    const rows = await page.locator('#tokens-body tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent)));
    expect(rows.map((r) => Number(r[2]))).toEqual(ids);
    expect(rows.map((r) => r[1])).toEqual(node.tokenizer.convertIdsToTokens(ids));
    expect(await page.locator('#embedding-heatmap svg').count()).toBe(1);
    expect(await page.locator('#similarity svg').count()).toBe(1);
    expect(await page.locator('#schedule-plot svg').count()).toBe(1);
    await node.release();
  }, SLOW);

  it('generates the Node pipeline pixels for the same seed, with a step view and a PNG to download', async () => {
    const node = await StableDiffusionPipeline.fromPretrained(MODEL);
    const nodeSteps: number[] = [];
    const expected = (await node.call({ ...CALL, callback: ({ step }) => { nodeSteps.push(step); } })).images[0];
    await node.release();
    await page.click('#generate');
    await idle();
    const s = await state();
    const got = await pixels('lastImage');
    const d = pixelDifference(got!, expected);
    console.log(`Chromium (${s.provider}, ${s.threads} threads) vs Node pixels: ${d.maxLevels} levels max, ${(d.fractionOff * 100).toFixed(3)}% of values off`);
    expect(s.provider).toBe('wasm');
    expect(d.maxLevels).toBeLessThanOrEqual(1);
    expect(d.fractionOff).toBeLessThanOrEqual(0.005);
    expect(s.steps).toEqual(nodeSteps); // PNDM: 8 steps are 9 calls (PLMS warms up on one extra)
    expect(await page.locator('#latents-view').evaluate((c) => (c as HTMLCanvasElement).width)).toBeGreaterThan(8);
    const href = await page.locator('#download').getAttribute('href');
    expect(href).toMatch(/^blob:/);
    const text = await page.evaluate(async (url) => new TextDecoder('latin1').decode(new Uint8Array(await (await fetch(url)).arrayBuffer())), href!);
    expect(text).toContain('a red lighthouse\nSteps: 8, Sampler: ');
    expect(text).toContain('Seed: 42, Size: 64x64');
    await page.screenshot({ path: join(ARTIFACTS, 'explorer.png'), fullPage: true });
  }, SLOW);

  it('holds the loop when paused and runs exactly one step per "Next step"', async () => {
    await page.selectOption('#scheduler', 'euler');
    await page.fill('#steps', '3');
    await page.dispatchEvent('#steps', 'change');
    await page.click('#pause');
    await page.click('#generate');
    await page.waitForFunction(() => (globalThis as unknown as { explorer: PageState }).explorer.steps.length === 1, undefined, { timeout: SLOW });
    await page.waitForTimeout(1500);
    expect((await state()).steps).toEqual([0]);
    await page.click('#step');
    await page.waitForFunction(() => (globalThis as unknown as { explorer: PageState }).explorer.steps.length === 2, undefined, { timeout: SLOW });
    expect(await page.locator('#x0-view').evaluate((c) => (c as HTMLCanvasElement).width)).toBe(64); // euler forms x̂₀
    await page.click('#pause'); // resume
    await idle();
    expect((await state()).steps).toEqual([0, 1, 2]);
  }, SLOW);

  it('runs img2img from an uploaded PNG as the Node img2img pipeline does, showing the noised start', async () => {
    await page.fill('#steps', '8');
    await page.dispatchEvent('#steps', 'change');
    await page.setInputFiles('#init-image', INIT_PNG);
    await page.waitForFunction(() => !(document.getElementById('img2img') as HTMLButtonElement).disabled, undefined, { timeout: SLOW });
    await page.click('#img2img');
    await idle();
    const node = await StableDiffusionImg2ImgPipeline.fromPretrained(MODEL, { scheduler: 'euler' });
    const expected = (await node.call({ ...CALL, image: await readImage(INIT_PNG), strength: 0.6 })).images[0];
    await node.release();
    const d = pixelDifference((await pixels('lastImg2Img'))!, expected);
    console.log(`img2img Chromium vs Node pixels: ${d.maxLevels} levels max, ${(d.fractionOff * 100).toFixed(3)}% of values off`);
    expect(d.maxLevels).toBeLessThanOrEqual(1);
    expect(d.fractionOff).toBeLessThanOrEqual(0.005);
    expect(await page.locator('#noised-view').evaluate((c) => (c as HTMLCanvasElement).width)).toBe(64);
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-img2img.png'), fullPage: true });
  }, SLOW);

  it('swaps a token embedding and ends with no console errors', async () => {
    await page.click('#swap');
    await idle();
    expect(await page.locator('#swap-caption').textContent()).toBe('"red" → "blue"');
    expect((await state()).errors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  }, SLOW);
});
