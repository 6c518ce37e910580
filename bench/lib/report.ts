// Output of a benchmark run: a plain-text table for people, or one JSON object for tools.

import type { MachineInfo } from './machine.js';
import type { Result } from './runner.js';

export interface Report {
  machine: MachineInfo;
  /** GFLOP/s of the peak probe in this run (null when it was not run). */
  peakGflops: number | null;
  /** The --compile / --pipeline options of this run, when given. */
  settings?: unknown;
  results: Result[];
}

const fixed = (v: number, digits: number) => v.toFixed(digits);
const ms = (v: number) => (v >= 100 ? fixed(v, 0) : v >= 10 ? fixed(v, 1) : fixed(v, 2));

function row(r: Result): string[] {
  return [
    r.what,
    r.shape,
    ms(r.medianMs),
    `${ms(r.minMs)}–${ms(r.maxMs)}`,
    r.gflop > 0 ? fixed(r.gflop, r.gflop >= 10 ? 1 : 3) : '—',
    r.gflops === null ? '—' : fixed(r.gflops, 1),
    r.fractionOfPeak === null ? '—' : `${fixed(100 * r.fractionOfPeak, 0)}%`,
    ms(r.createMs),
    fixed(r.peakRssMb, 0),
    r.othersCpu === null ? '—' : `${fixed(100 * r.othersCpu, 0)}%`,
  ];
}

const HEADER = ['what', 'shape', 'median ms', 'min–max', 'GFLOP', 'GFLOP/s', 'of peak', 'create ms', 'peak RSS MB', 'others CPU'];
const NUMERIC = new Set([2, 3, 4, 5, 6, 7, 8, 9]);

/** The two lines every bench table starts with: the CPU, cores, memory and load; the software and date. */
export function machineLines(m: MachineInfo): string[] {
  return [
    `machine: ${m.cpuModel}, ${m.cores} cores${m.simd.length ? ` (${m.simd.join(' ')})` : ''}, ${m.memoryGb} GB, load ${m.loadAvg.join(' ')}`,
    `         ${m.platform}, node ${m.node}, onnxruntime-node ${m.onnxruntime}, ${m.date}`,
  ];
}

/** A plain-text table: columns padded to their widest cell, the `numeric` ones right-aligned. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[], numeric: ReadonlySet<number>): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const fmt = (r: readonly string[]) => r.map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
}

export function formatTable(report: Report): string {
  const lines = [
    ...machineLines(report.machine),
    report.peakGflops === null ? 'peak: not measured (fractions of peak omitted)' : `peak: ${fixed(report.peakGflops, 1)} GFLOP/s (fastest run of the 3×3 conv probe; "of peak" = median GFLOP/s / this)`,
    '',
    ...textTable(HEADER, report.results.map(row), NUMERIC),
  ];
  lines.push('', 'median over runs after warm-up; GFLOP/s from the median; "others CPU" = share of the machine other processes used while timing.');
  return lines.join('\n');
}

export function formatJson(report: Report): string {
  return JSON.stringify(report, null, 2);
}
