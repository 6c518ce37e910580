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

export function formatTable(report: Report): string {
  const m = report.machine;
  const lines = [
    `machine: ${m.cpuModel}, ${m.cores} cores${m.simd.length ? ` (${m.simd.join(' ')})` : ''}, ${m.memoryGb} GB, load ${m.loadAvg.join(' ')}`,
    `         ${m.platform}, node ${m.node}, onnxruntime-node ${m.onnxruntime}, ${m.date}`,
    report.peakGflops === null ? 'peak: not measured (fractions of peak omitted)' : `peak: ${fixed(report.peakGflops, 1)} GFLOP/s (fastest run of the 3×3 conv probe; "of peak" = median GFLOP/s / this)`,
    '',
  ];
  const rows = [HEADER, ...report.results.map(row)];
  const widths = HEADER.map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const fmt = (r: string[]) => r.map((cell, c) => (NUMERIC.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  lines.push(fmt(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(fmt));
  lines.push('', 'median over runs after warm-up; GFLOP/s from the median; "others CPU" = share of the machine other processes used while timing.');
  return lines.join('\n');
}

export function formatJson(report: Report): string {
  return JSON.stringify(report, null, 2);
}
