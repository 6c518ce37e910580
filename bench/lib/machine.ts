// What the benchmark ran on, and how busy the machine was while it ran.
//
// These machines are shared (../shared/anchors/onnxruntime-facts.md: "Benchmarks and CI timings
// vary by about 2× when another job runs"), so every result records the CPU share other processes
// used during its timing, and the runner can wait for a quiet moment before timing.

import { readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';

import * as ort from 'onnxruntime-node';

import { cpuFlags } from '../../src/platform/node/system.js';

export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs the OS reports. */
  cores: number;
  /** Vector extensions that matter for fp32/bf16 throughput (Linux only). */
  simd: string[];
  memoryGb: number;
  loadAvg: [number, number, number];
  node: string;
  onnxruntime: string;
  platform: string;
  date: string;
}

function simdFlags(): string[] {
  return (cpuFlags() ?? []).filter((f) => /^(avx2|fma|avx512f|avx512_bf16|avx512_vnni|amx_\w+)$/.test(f));
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  const [a, b, c] = os.loadavg();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    simd: simdFlags(),
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAvg: [a, b, c].map((v) => Math.round(v * 100) / 100) as [number, number, number],
    node: process.version,
    onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

// ---- CPU used by other processes -------------------------------------------------------------

interface CpuSample {
  busy: number; // all processes, jiffies
  total: number; // jiffies (busy + idle)
  self: number; // this process, jiffies
}

function sample(): CpuSample | undefined {
  try {
    // /proc/stat "cpu  user nice system idle iowait irq softirq steal ..."
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + f[4];
    const total = f.slice(0, 8).reduce((s, v) => s + v, 0);
    // /proc/self/stat: utime, stime, cutime, cstime are fields 14–17 (the command name may hold
    // spaces, so split after ')'). cutime/cstime add our finished child processes (the startup case's).
    const self = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ').slice(11, 15).map(Number);
    return { busy: total - idle, total, self: self.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined; // not Linux
  }
}

/** Measures, between start() and stop(), the fraction of all cores other processes kept busy. */
export class OthersCpu {
  private start = sample();

  stop(): number | undefined {
    const end = sample();
    if (!this.start || !end || end.total === this.start.total) return undefined;
    const others = end.busy - this.start.busy - (end.self - this.start.self);
    return Math.max(0, others / (end.total - this.start.total));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits (up to `maxSeconds`) until other processes use less than `threshold` of the machine over a
 * half-second window. Returns their share in the last window (undefined where /proc is missing).
 */
export async function waitForIdle(maxSeconds: number, threshold = 0.08): Promise<number | undefined> {
  const deadline = Date.now() + maxSeconds * 1000;
  for (;;) {
    const probe = new OthersCpu();
    await sleep(500);
    const share = probe.stop();
    if (share === undefined || share < threshold || Date.now() >= deadline) return share;
  }
}

// ---- memory ----------------------------------------------------------------------------------

/** Resets the kernel's peak-RSS mark (VmHWM) to the current RSS, so the next peak is one case's own. */
export function resetPeakRss(): void {
  try {
    // Writing 5 to clear_refs resets the peak resident set size (Linux ≥ 4.0).
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Not Linux: peakRssMb then reports the process lifetime peak.
  }
}

/** Peak resident set size since the last reset, MB. */
export function peakRssMb(): number {
  try {
    const kb = Number(readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+)/)?.[1]);
    if (Number.isFinite(kb)) return kb / 1024;
  } catch {
    // fall through
  }
  return process.resourceUsage().maxRSS / 1024;
}
