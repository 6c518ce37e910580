// Where the time goes: one model case under ONNX Runtime's profiler, summarised per op type and
// per node (node names carry the module path, e.g. "down_blocks.1.attentions.0/Gemm_812").
//
//   npm run bench:profile -- unet-512-b2 [--compile '{"optimizationLevel":"all"}'] [--top 25]
//
// It runs the case once to warm up and once profiled, and reads only the profiled run's events
// (the last "model_run"). Kernel times are wall-clock per node; with 2 threads they add up to
// about the run time. The raw profile (chrome://tracing format) stays in bench/out/.

import '../src/platform/node/index.js';

import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { findCase } from './cases/index.js';
import { settings } from './lib/settings.js';

interface OrtEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out');

function table(title: string, rows: [string, number, number][], total: number, top: number): string {
  rows.sort((a, b) => b[1] - a[1]);
  const lines = rows.slice(0, top).map(([k, us, n]) => `${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${String(n).padStart(5)}×  ${k}`);
  return `${title}\n${lines.join('\n')}`;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { compile: { type: 'string' }, top: { type: 'string' } } });
  const name = positionals[0];
  const c = name ? findCase(name) : undefined;
  if (!c) throw new Error('usage: npm run bench:profile -- <model case, e.g. unet-512-b2> [--compile JSON] [--top N]');
  settings.compile = values.compile ? (JSON.parse(values.compile) as object) : {};
  const top = Number(values.top ?? 25);
  mkdirSync(OUT, { recursive: true });
  await c.setup?.();
  const prepared = await c.prepare({ profileFilePrefix: join(OUT, `profile-${name}`) });
  let file: string | undefined;
  try {
    await prepared.run();
    const t0 = performance.now();
    await prepared.run();
    process.stderr.write(`${name}: profiled run ${(performance.now() - t0).toFixed(0)} ms (profiling adds a little)\n`);
    file = prepared.endProfiling?.();
  } finally {
    await prepared.release();
  }
  if (!file) throw new Error(`${name} does not support profiling (model cases only)`);
  const events = JSON.parse(readFileSync(file, 'utf8')) as OrtEvent[];
  const runs = events.filter((e) => e.name === 'model_run');
  const last = runs[runs.length - 1];
  const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= last.ts && e.ts <= last.ts + last.dur);
  const total = kernels.reduce((s, e) => s + e.dur, 0);
  const byOp = new Map<string, [number, number]>();
  const byScope = new Map<string, [number, number]>();
  const byNode: [string, number, number][] = [];
  for (const e of kernels) {
    const node = e.name.slice(0, -'_kernel_time'.length);
    const opType = e.args?.op_name ?? '?';
    const scope = node.includes('/') ? node.slice(0, node.lastIndexOf('/')).replace(/\.\d+(?=\.|$)/g, '.*') : '(fused)';
    for (const [m, k] of [[byOp, opType], [byScope, `${scope} ${opType}`]] as const) {
      const v = m.get(k) ?? [0, 0];
      m.set(k, [v[0] + e.dur, v[1] + 1]);
    }
    byNode.push([`${node} (${opType})`, e.dur, 1]);
  }
  const rows = (m: Map<string, [number, number]>) => [...m].map(([k, [us, n]]) => [k, us, n] as [string, number, number]);
  console.log(`${name}: model_run ${(last.dur / 1000).toFixed(0)} ms, kernels ${(total / 1000).toFixed(0)} ms, ${kernels.length} kernel calls; profile ${file}\n`);
  console.log(table('per op type', rows(byOp), total, top));
  console.log(`\n${table('per module kind and op type (block indices folded to *)', rows(byScope), total, top)}`);
  console.log(`\n${table('slowest nodes', byNode, total, top)}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
