// Runs the real `latentlab` command in a child process, the way a user runs it: the TypeScript
// source through tsx (a dev dependency, so this works from a clean clone after `npm ci`, with or
// without a build), stdout and stderr captured separately.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { fixturePath } from '../helpers/fixtures.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MAIN = join(REPO, 'src', 'cli', 'main.ts');
/** tsx's loader, by absolute URL so the child may run in any folder. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

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
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], { cwd: options.cwd ?? REPO, env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
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
    .map((e) => relative(dir, join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)))
    .sort();
}
