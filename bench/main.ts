// `npm run bench`: speed of the graph → ONNX → onnxruntime-node engine on this machine.
// A peak probe first (GFLOP/s of a large 3×3 convolution chain), then every registered case
// (bench/cases), printed as a table or, with --json, as one JSON object. See bench/lib/args.ts.
//
// Speed is measured here and never asserted in tests: these machines are shared and timings
// move by 2× when another job runs; each row records how busy the other processes were.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { CASES, findCase, peakProbe } from './cases/index.js';
import { BenchArgs, parseBenchArgs, USAGE } from './lib/args.js';
import type { BenchCase } from './lib/case.js';
import { machineInfo } from './lib/machine.js';
import { formatJson, formatTable, Report } from './lib/report.js';
import { measure, Result } from './lib/runner.js';
import { useBenchInt8Cache } from './lib/sd15.js';
import { settings } from './lib/settings.js';

function select(only: string[] | undefined): BenchCase[] {
  if (!only) return [...CASES];
  const found = only.filter((n) => n !== peakProbe.name).map((n) => [n, findCase(n)] as const);
  const unknown = found.filter(([, c]) => !c).map(([n]) => n);
  if (unknown.length) throw new Error(`unknown case ${unknown.join(', ')}; known: ${[peakProbe, ...CASES].map((c) => c.name).join(', ')} (see --help for name patterns)`);
  return found.map(([, c]) => c!);
}

function parseJsonOption(name: string, raw: string | undefined): Record<string, unknown> {
  if (raw === undefined) return {};
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`--${name} must be a JSON object: ${(e as Error).message}`);
  }
}

async function main(): Promise<void> {
  useBenchInt8Cache();
  const args = parseBenchArgs(process.argv.slice(2));
  if (args.help) return void process.stdout.write(USAGE);
  if (args.list) {
    for (const c of [peakProbe, ...CASES]) console.log(`${c.name.padEnd(24)} ${c.what} — ${c.shape}`);
    return;
  }
  settings.compile = parseJsonOption('compile', args.compile);
  settings.pipeline = parseJsonOption('pipeline', args.pipeline);
  const cases = select(args.only);
  const withPeak = args.peak || (args.only?.includes(peakProbe.name) ?? false);
  const queue = withPeak ? [peakProbe, ...cases] : cases;
  const machine = machineInfo();
  const results: Result[] = [];
  // A case that fails is named at the end; the rows measured before and after it still print.
  const failed: string[] = [];
  for (const [i, c] of queue.entries()) {
    process.stderr.write(`[${i + 1}/${queue.length}] ${c.name} … `);
    // The peak probe keeps at least its own run count: its best run is the machine's capability.
    const runs = c === peakProbe ? Math.max(args.runs ?? 0, c.runs ?? 5) : (args.runs ?? c.runs ?? 5);
    try {
      const r = args.isolate && c.isolate && queue.length > 1
        ? await measureInChild(c, args)
        : await measure(c, { runs, warmup: args.warmup ?? c.warmup ?? 1, idleWait: args.idleWait });
      process.stderr.write(`${r.medianMs.toFixed(1)} ms\n`);
      results.push(r);
    } catch (e) {
      if (c === peakProbe || queue.length === 1) throw e;
      process.stderr.write(`failed: ${e instanceof Error ? e.message : String(e)}\n`);
      failed.push(c.name);
    }
  }
  // The peak is the probe's fastest run: a capability of the machine, which other jobs on a shared
  // box can only lower. Every other row divides its median GFLOP/s by it.
  const peak = withPeak ? results[0].bestGflops : null;
  for (const r of results) r.fractionOfPeak = peak && r.gflops !== null ? r.gflops / peak : null;
  const report: Report = { machine, peakGflops: peak, ...(args.compile || args.pipeline ? { settings } : {}), results };
  console.log(args.json ? formatJson(report) : formatTable(report));
  if (failed.length) {
    console.error(`failed: ${failed.join(', ')} (their errors are above)`);
    process.exitCode = 1;
  }
}

/**
 * Runs one case in a fresh `bench/main.ts --only NAME --no-peak --json`: the heap, arenas and
 * mappings earlier cases leave behind (glibc keeps freed memory) would otherwise count in its
 * peak RSS. The parent still divides by its own peak probe.
 */
async function measureInChild(c: BenchCase, args: BenchArgs): Promise<Result> {
  await c.setup?.();
  const pass = (flag: string, v: unknown) => (v === undefined ? [] : [`--${flag}`, String(v)]);
  const argv = [
    '--import', 'tsx', fileURLToPath(new URL('./main.ts', import.meta.url)), '--only', c.name, '--no-peak', '--json',
    ...pass('runs', args.runs), ...pass('warmup', args.warmup), ...pass('idle-wait', args.idleWait), ...pass('compile', args.compile), ...pass('pipeline', args.pipeline),
  ];
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`${c.name}: the child process failed (exit code ${code})`);
  return (JSON.parse(stdout) as Report).results[0];
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
