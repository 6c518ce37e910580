// The built explorer in headless Chromium (Debian's binary, driven by playwright-core), served by
// `latentlab explore`'s server on loopback, for the browser tests: build, serve, open, and read the
// page's `window.explorer` state (explorer/src/main.ts).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type Browser, chromium, type Page } from 'playwright-core';

import { buildExplorer } from '../../explorer/build.js';
import { type ExploreServer, startExploreServer } from '../../src/cli/explore-server.js';

export const CHROMIUM = process.env.LATENTLAB_CHROMIUM ?? '/usr/bin/chromium';
/** Chromium at nice 19 on a busy 2-core machine. */
export const SLOW = 600_000;

export interface PageState {
  ready: boolean; busy: boolean; provider?: string; threads: number; steps: number[]; errors: string[];
  hub?: { commit: string; downloadedBytes: number; offline: boolean; warnings: string[] };
}

export interface ExplorerPage {
  readonly page: Page;
  readonly server: ExploreServer;
  /** Console errors and uncaught page errors, as they came. */
  readonly consoleErrors: string[];
  state(): Promise<PageState>;
  pixels(which: 'lastImage' | 'lastImg2Img'): Promise<{ width: number; height: number; data: number[] } | undefined>;
  /** Waits until the page is ready and not busy. */
  idle(): Promise<void>;
  /** Sets the steps field (and fires its change event). */
  setSteps(n: number): Promise<void>;
  /** Fills prompt, seed and steps, presses Generate and waits until the page is idle again. */
  generate(call: { prompt: string; seed: number; numInferenceSteps: number }): Promise<void>;
  close(): Promise<void>;
}

/** Builds the explorer into a temporary folder, serves it with `modelDir` at /model/ and opens `query`; `args` are Chromium's flags. */
export async function openExplorer(modelDir: string, query = '', args: readonly string[] = ['--disable-gpu']): Promise<ExplorerPage> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium; .ci/run does) or set LATENTLAB_CHROMIUM`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'latentlab-explorer-'));
  let browser: Browser | undefined;
  let server: ExploreServer | undefined;
  try {
    await buildExplorer(join(dir, 'explorer'));
    server = await startExploreServer({ explorerDir: join(dir, 'explorer'), modelDir, port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', ...args] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    const consoleErrors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const ex: ExplorerPage = {
      page, server, consoleErrors,
      state: () => page.evaluate(() => {
        const s = (globalThis as unknown as { explorer: PageState }).explorer;
        return { ready: s.ready, busy: s.busy, provider: s.provider, threads: s.threads, steps: [...s.steps], errors: [...s.errors], hub: s.hub && { ...s.hub, warnings: [...s.hub.warnings] } };
      }),
      pixels: (which) => page.evaluate((w) => {
        const img = (globalThis as unknown as { explorer: Record<string, { width: number; height: number; data: Uint8Array } | undefined> }).explorer[w];
        return img ? { width: img.width, height: img.height, data: Array.from(img.data) } : undefined;
      }, which),
      idle: async () => {
        await page.waitForFunction(() => {
          const s = (globalThis as unknown as { explorer?: PageState }).explorer;
          return s && ((s.ready && !s.busy) || (!s.busy && s.errors.length > 0));
        }, undefined, { timeout: SLOW, polling: 200 });
      },
      setSteps: async (n) => {
        await page.fill('#steps', String(n));
        await page.dispatchEvent('#steps', 'change');
      },
      generate: async (call) => {
        await page.fill('#prompt', call.prompt);
        await page.fill('#seed', String(call.seed));
        await ex.setSteps(call.numInferenceSteps);
        await page.click('#generate');
        await ex.idle();
      },
      close: async () => {
        await browser?.close();
        await server?.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
    await page.goto(`${server.url}${query}`, { waitUntil: 'domcontentloaded', timeout: SLOW });
    await ex.idle();
    return ex;
  } catch (e) {
    await browser?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
