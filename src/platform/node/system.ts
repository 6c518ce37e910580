// The Node implementation of core/system's SystemResources.
//
// Available memory: process.availableMemory() (Node ≥ 20.13) is the smaller of the kernel's
// MemAvailable and what the process's cgroup limit leaves — the number that predicts an OOM kill in
// a container. Older Node: os.freemem(), which libuv reads from MemAvailable too.

import { readFileSync } from 'node:fs';
import * as os from 'node:os';

import type { SystemResources } from '../../core/system.js';

const proc = process as NodeJS.Process & { availableMemory?: () => number };

export const nodeSystemResources: SystemResources = {
  availableMemory: () => (typeof proc.availableMemory === 'function' ? proc.availableMemory() : os.freemem()),
  cores: () => os.availableParallelism(),
};

/** The CPU's feature flags as Linux lists them (/proc/cpuinfo `flags`: avx2, avx512_vnni, …); undefined where they cannot be read (another OS). */
export function cpuFlags(): string[] | undefined {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1].trim().split(/\s+/) ?? [];
  } catch {
    return undefined;
  }
}
