// Runs the real `latentlab` command in a child process, the way a user runs it, with stdout and
// stderr captured separately. Which build of the command runs:
//
//   dist/cli/main.js (the package's bin) when it is newer than every file under src/ — `npm ci`
//   builds it (the `prepare` script), and it starts in a third of the time;
//   otherwise the TypeScript source through tsx (a dev dependency), so edits are always tested.
//
// LATENTLAB_CLI_TEST=tsx or =dist forces one of them.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { fixturePath } from '../helpers/fixtures.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SOURCE = join(REPO, 'src', 'cli', 'main.ts');
const BUILT = join(REPO, 'dist', 'cli', 'main.js');
/** tsx's loader, by absolute URL so the child may run in any folder. */
export const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

function useBuilt(): boolean {
  const forced = process.env.LATENTLAB_CLI_TEST;
  if (forced === 'tsx' || forced === 'dist') return forced === 'dist';
  return existsSync(BUILT) && statSync(BUILT).mtimeMs > newestSource(join(REPO, 'src'));
}

/** node's arguments before the command's own: the bin, or tsx + the source. */
export const NODE_ARGS: readonly string[] = useBuilt() ? [BUILT] : ['--import', TSX, SOURCE];

export const TINY_SD15 = fixturePath('pipelines', 'tiny-sd15');
export const TINY_SD2 = fixturePath('pipelines', 'tiny-sd2');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Added to (or, with undefined values, removed from) the environment. */
  env?: Record<string, string | undefined>;
  /** Called with the child once it runs (to send it signals). */
  onSpawn?: (child: ChildProcess, output: { stderr: () => string }) => void;
  /** Kill the child (SIGKILL) after this long: a hang then shows as `signal: 'SIGKILL'`. */
  timeoutMs?: number;
}

/** The environment a test run gets: no Hub token or offline switch leaking in from the machine running the tests. */
function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'LATENTLAB_DEBUG', 'HF_ENDPOINT']) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_ARGS, ...args], { cwd: options.cwd ?? REPO, env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    options.onSpawn?.(child, { stderr: () => stderr });
  });
}

/** stdout parsed as the one JSON object of --json mode (fails loudly, showing both streams, if it is not). */
export function parseReport(r: CliResult): any {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`stdout is not one JSON object (exit ${r.code}).\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

export function tempDir(prefix = 'latentlab-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Every file under `dir` (relative paths, sorted), hidden temporaries included. */
export function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** `work` on every item, at most `width` at a time (the runs are small processes; a few at once keep the suite quick). */
export async function inParallel<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return out;
}
