// `npm run bench:server`: what `latentlab serve` adds to the library, and how it behaves under load,
// on the tiny model (test/fixtures/conformance/pipelines/tiny-sd15) so the server's own costs show:
//
//   1. overhead: POST /sdapi/v1/txt2img on an in-process server against the same pipe.call on the
//      same pipeline (alternating, paired by seed); the PNG encode (+ base64) is timed on its own;
//   2. throughput and p50/p99 latency for N closed-loop clients against `latentlab serve` (the
//      in-process queue), then `serve --queue` on a real redis-server with 1 and 2 `latentlab worker`s;
//   3. memory: the RSS of the server (and the workers) sampled over --jobs jobs from a fresh start.
//
// Every process is a child on loopback (test/server/redis.ts starts them, as the tests do); the
// redis-server is our own, on a free port, and is stopped at the end.
//
//   npm run bench:server -- [--jobs 1000] [--requests 160] [--runs 40] [--clients 1,4,16] [--steps 2]
//                           [--size 64] [--no-redis] [--json]

import { parseArgs } from 'node:util';

import { encodePng, Generator } from '../src/node.js';
import { startServer } from '../src/server/start.js';
import { TINY_SD15 } from '../test/cli/run-cli.js';
import { type Child, startRedis, startServeProcess, startWorkerProcess } from '../test/server/redis.js';
import { machineInfo } from './lib/machine.js';
import { machineLines, textTable } from './lib/report.js';
import { median } from './lib/runner.js';
import { benchRequest, closedLoop, quantile, RssSampler, type RssSummary, txt2img } from './lib/server-load.js';

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000' },
    requests: { type: 'string', default: '160' },
    runs: { type: 'string', default: '40' },
    clients: { type: 'string', default: '1,4,16' },
    steps: { type: 'string', default: '2' },
    size: { type: 'string', default: '64' },
    'no-redis': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const int = (name: keyof typeof flags, min: number) => {
  const v = Number(flags[name]);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(flags[name])}`);
  return v;
};
const JOBS = int('jobs', 10);
const REQUESTS = int('requests', 4);
const RUNS = int('runs', 3);
const STEPS = int('steps', 1);
const SIZE = int('size', 8);
const CLIENTS = flags.clients.split(',').map((c) => Number(c));
if (CLIENTS.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`--clients must be integers ≥ 1, got ${flags.clients}`);
const MEMORY_CLIENTS = 4;
const WARMUP_JOBS = Math.min(100, Math.floor(JOBS / 10));
const request = (seed: number) => benchRequest(seed, STEPS, SIZE);
const log = (m: string) => process.stderr.write(`${m}\n`);

interface Overhead { runs: number; directMs: number; httpMs: number; overheadMs: number; pngEncodeMs: number; pngBytes: number }
interface LoadRow { setup: string; workers: number; clients: number; requests: number; imagesPerSecond: number; p50Ms: number; p99Ms: number }
interface MemoryRun { setup: string; jobs: number; clients: number; warmupJobs: number; processes: RssSummary[] }

/** 1. The same generation through HTTP and as a library call, on one pipeline in this process. */
async function overhead(): Promise<Overhead> {
  const server = await startServer({ models: [TINY_SD15], port: 0, version: 'bench' });
  try {
    const { txt2img: pipe } = await server.host.get();
    if (!pipe) throw new Error(`${TINY_SD15} is an inpainting model: the overhead bench needs a txt2img one`);
    const direct = async (seed: number) => {
      const t0 = performance.now();
      const out = await pipe.call({
        prompt: request(seed).prompt as string, negativePrompt: '', promptSyntax: 'a1111', numImagesPerPrompt: 1, numInferenceSteps: STEPS, guidanceScale: 7,
        generator: new Generator(seed), scheduler: 'Euler', width: SIZE, height: SIZE,
      });
      return { ms: performance.now() - t0, image: out.images[0] };
    };
    const http = async (seed: number) => {
      const t0 = performance.now();
      await txt2img(server.url, request(seed));
      return performance.now() - t0;
    };
    let image = (await direct(0)).image;
    for (let i = 0; i < 3; i++) { // warm-up: sessions, JIT, connections
      await direct(i);
      await http(i);
    }
    const d: number[] = [];
    const h: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const seed = 1000 + i;
      if (i % 2 === 0) { // alternate the order, so drift hits both alike
        const r = await direct(seed);
        image = r.image;
        d.push(r.ms);
        h.push(await http(seed));
      } else {
        h.push(await http(seed));
        d.push((await direct(seed)).ms);
      }
    }
    const text = { parameters: `a red cube on a table\nSteps: ${STEPS}, Sampler: Euler, CFG scale: 7, Seed: 1000, Size: ${SIZE}x${SIZE}, Model: tiny-sd15, Version: latentlab bench` };
    const encode: number[] = [];
    let bytes = 0;
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const png = await encodePng(image, { text });
      bytes = Buffer.from(png).toString('base64').length;
      encode.push(performance.now() - t0);
    }
    return { runs: RUNS, directMs: median(d), httpMs: median(h), overheadMs: median(h.map((x, i) => x - d[i])), pngEncodeMs: median(encode), pngBytes: bytes };
  } finally {
    await server.stop();
  }
}

/** 2. Throughput and latency for each client count, after a warm-up that reaches every worker. */
async function loadRows(url: string, setup: string, workers: number, seedBase: number): Promise<LoadRow[]> {
  await closedLoop(url, 4, 8, (i) => request(seedBase - 100 + i));
  const rows: LoadRow[] = [];
  for (const [k, clients] of CLIENTS.entries()) {
    const r = await closedLoop(url, clients, REQUESTS, (i) => request(seedBase + 10_000 * k + i));
    const row = { setup, workers, clients, requests: REQUESTS, imagesPerSecond: REQUESTS / (r.wallMs / 1000), p50Ms: quantile(r.latenciesMs, 0.5), p99Ms: quantile(r.latenciesMs, 0.99) };
    log(`  ${setup}, ${clients} client(s): ${row.imagesPerSecond.toFixed(1)} images/s, p50 ${row.p50Ms.toFixed(0)} ms, p99 ${row.p99Ms.toFixed(0)} ms`);
    rows.push(row);
  }
  return rows;
}

/** 3. RSS of fresh processes over JOBS jobs at MEMORY_CLIENTS clients (the first WARMUP_JOBS warm them up). */
async function memoryRun(url: string, setup: string, processes: { name: string; child: Child }[]): Promise<MemoryRun> {
  let done = 0;
  const sampler = new RssSampler(processes.map((p) => ({ name: p.name, pid: p.child.process.pid! })), () => done);
  await closedLoop(url, MEMORY_CLIENTS, JOBS, (i) => request(500_000 + i), () => done++);
  const run = { setup, jobs: JOBS, clients: MEMORY_CLIENTS, warmupJobs: WARMUP_JOBS, processes: sampler.stop(WARMUP_JOBS) };
  for (const p of run.processes) log(`  ${setup} ${p.name}: RSS ${p.startMb.toFixed(0)} → ${p.afterWarmupMb.toFixed(0)} → ${p.endMb.toFixed(0)} MB (max ${p.maxMb.toFixed(0)}, ${p.slopeMbPer1000.toFixed(1)} MB/1000 jobs)`);
  return run;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const children: Child[] = [];
  const started = <T extends Child>(c: T): T => (children.push(c), c);
  const load: LoadRow[] = [];
  const memory: MemoryRun[] = [];
  try {
    log(`overhead: ${RUNS} paired runs …`);
    const over = await overhead();

    log('latentlab serve (in-process queue) …');
    const serve = started(await startServeProcess([TINY_SD15]));
    memory.push(await memoryRun(serve.url, 'serve', [{ name: 'server', child: serve }]));
    load.push(...(await loadRows(serve.url, 'serve (in-process queue)', 1, 1_000_000)));
    await serve.stop();

    if (!flags['no-redis']) {
      log('latentlab serve --queue (redis-server) + workers …');
      const redis = await startRedis();
      started(redis.server);
      const server = started(await startServeProcess([TINY_SD15], ['--queue', redis.url]));
      const w1 = started(await startWorkerProcess(redis.url, TINY_SD15, 'w1'));
      memory.push(await memoryRun(server.url, 'serve --queue + 1 worker', [{ name: 'server', child: server }, { name: 'worker', child: w1 }]));
      load.push(...(await loadRows(server.url, 'redis, 1 worker', 1, 2_000_000)));
      started(await startWorkerProcess(redis.url, TINY_SD15, 'w2'));
      load.push(...(await loadRows(server.url, 'redis, 2 workers', 2, 3_000_000)));
    }
    const settings = { model: 'tiny-sd15', size: SIZE, steps: STEPS, sampler: 'Euler', cfgScale: 7, runs: RUNS, requests: REQUESTS, jobs: JOBS };
    process.stdout.write(flags.json ? `${JSON.stringify({ machine, settings, overhead: over, load, memory }, null, 2)}\n` : `${report(machine, settings, over, load, memory)}\n`);
  } finally {
    for (const c of children.reverse()) await c.stop();
  }
}

const f = (v: number, d = 1) => v.toFixed(d);

function report(machine: ReturnType<typeof machineInfo>, s: Record<string, unknown>, o: Overhead, load: LoadRow[], memory: MemoryRun[]): string {
  const lines = [...machineLines(machine), `workload: tiny-sd15, ${s.size}×${s.size}, ${s.steps} Euler steps, CFG 7 (batch 2 in the UNet)`, ''];
  lines.push(`overhead per request (median of ${o.runs}; HTTP and direct alternate, paired by seed):`);
  lines.push(...textTable(['what', 'ms'], [
    ['pipe.call (library, same pipeline)', f(o.directMs, 2)],
    ['POST /sdapi/v1/txt2img (loopback)', f(o.httpMs, 2)],
    ['overhead (median paired difference)', f(o.overheadMs, 2)],
    [`  of it: PNG encode + base64 (${o.pngBytes} chars)`, f(o.pngEncodeMs, 2)],
    ['  the rest: HTTP, JSON, queue, infotext', f(o.overheadMs - o.pngEncodeMs, 2)],
  ], new Set([1])).map((l) => `  ${l}`), '');
  lines.push(`throughput and latency (${s.requests} requests per row, closed-loop clients):`);
  lines.push(...textTable(['setup', 'clients', 'images/s', 'p50 ms', 'p99 ms'],
    load.map((r) => [r.setup, String(r.clients), f(r.imagesPerSecond), f(r.p50Ms, 0), f(r.p99Ms, 0)]), new Set([1, 2, 3, 4])).map((l) => `  ${l}`), '');
  for (const m of memory) {
    lines.push(`memory, ${m.setup}: RSS over ${m.jobs} jobs (${m.clients} clients) from a fresh start; warm-up = the first ${m.warmupJobs} jobs`);
    lines.push(...textTable(['process', 'start MB', 'after warm-up', 'end', 'max', 'trend MB/1000 jobs'],
      m.processes.map((p) => [p.name, f(p.startMb, 0), f(p.afterWarmupMb, 0), f(p.endMb, 0), f(p.maxMb, 0), f(p.slopeMbPer1000)]), new Set([1, 2, 3, 4, 5])).map((l) => `  ${l}`), '');
  }
  lines.push('trend: least-squares slope of RSS over the jobs after the warm-up (≈ 0: flat).');
  return lines.join('\n');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
