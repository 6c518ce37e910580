// The resource flags of the commands that run the UNet: --max-memory (a cap below the machine's
// available memory; also LATENTLAB_MAX_MEMORY, for a shared machine) and --threads (capped at the
// cores). The memory check itself is the library's (pipelines/memory-estimate.ts), run here with
// the flags' names so its message says what to type.

import { checkMemory, type MemoryNames, type StableDiffusionPipeline, systemResources } from '../node.js';
import { flagError } from './errors.js';
import type { Session } from './session.js';

export const CLI_MEMORY_NAMES: MemoryNames = { size: '--width / --height', batch: '--num-images (or fewer --prompt flags)', limit: '--max-memory' };

const UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, kb: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gb: 2 ** 30, gib: 2 ** 30, t: 2 ** 40, tb: 2 ** 40, tib: 2 ** 40 };

/** "8G", "512MiB", "1.5 GB", "1000000": bytes (binary units, as `free -h` and docker's --memory). */
export function parseMemorySize(flag: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw flagError(flag, text, 'a memory size such as 8G, 512M or 1.5GiB (binary units)');
  return bytes;
}

export const memoryFlag = (text: string): number => parseMemorySize('--max-memory', text);

/** --max-memory, else LATENTLAB_MAX_MEMORY (checked like the flag), else none (the available memory). */
export function memoryCap(flag: number | undefined, env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (flag !== undefined) return flag;
  const v = env.LATENTLAB_MAX_MEMORY;
  return v === undefined || v.trim() === '' ? undefined : parseMemorySize('LATENTLAB_MAX_MEMORY', v);
}

/** --threads above the cores is capped, with a warning in the flag's terms (the library would warn in its own). */
export function capThreadsFlag(threads: number | undefined, session: Session): number | undefined {
  const cores = systemResources().cores();
  if (threads === undefined || threads <= cores) return threads;
  session.warn(`--threads ${threads}: this machine has ${cores} cores; using --threads ${cores}`);
  return cores;
}

/** The library's memory admission, before any session is built, in the flags' words. */
export function checkRunMemory(pipe: StableDiffusionPipeline | { estimateMemory: StableDiffusionPipeline['estimateMemory'] },
  request: Parameters<StableDiffusionPipeline['estimateMemory']>[0], cap: number | undefined): void {
  checkMemory(pipe.estimateMemory(request), cap, CLI_MEMORY_NAMES);
}
