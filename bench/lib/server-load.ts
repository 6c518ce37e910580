// The server bench's instruments (bench/server.ts): closed-loop HTTP clients, percentiles, and the
// resident memory of other processes sampled from /proc while they work.

import { readFileSync } from 'node:fs';

/** One txt2img request of the bench: the tiny model at `size`², `steps` Euler steps, its own seed. */
export function benchRequest(seed: number, steps: number, size: number): Record<string, unknown> {
  return { prompt: 'a red cube on a table', negative_prompt: '', steps, width: size, height: size, seed, sampler_name: 'Euler', cfg_scale: 7 };
}

/** POST /sdapi/v1/txt2img; throws unless the answer is a 200 with one image. Returns the base64 PNG. */
export async function txt2img(url: string, body: Record<string, unknown>): Promise<string> {
  const r = await fetch(`${url}/sdapi/v1/txt2img`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`txt2img answered ${r.status}: ${text.slice(0, 300)}`);
  const images = (JSON.parse(text) as { images: string[] }).images;
  if (images.length !== 1 || images[0].length < 100) throw new Error(`txt2img answered ${images.length} images`);
  return images[0];
}

export interface LoadResult {
  clients: number;
  requests: number;
  wallMs: number;
  /** Per request, from sending it to having read its answer (queue wait included). */
  latenciesMs: number[];
}

/**
 * `clients` closed-loop clients (each sends its next request when the last one is answered) until
 * `requests` are answered; `onDone` after each (the memory sampler counts jobs with it).
 */
export async function closedLoop(url: string, clients: number, requests: number, request: (i: number) => Record<string, unknown>, onDone?: () => void): Promise<LoadResult> {
  let next = 0;
  const latenciesMs: number[] = [];
  const client = async () => {
    while (next < requests) {
      const i = next++;
      const t0 = performance.now();
      await txt2img(url, request(i));
      latenciesMs.push(performance.now() - t0);
      onDone?.();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  return { clients, requests, wallMs: performance.now() - t0, latenciesMs };
}

/** The q-quantile by nearest rank (p99 of 200 latencies is the 198th smallest). */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** Resident set size of process `pid` now, in MB (VmRSS). */
export function rssMb(pid: number): number {
  const kb = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1]);
  return kb / 1024;
}

export interface RssTrace {
  name: string;
  /** [jobs done, RSS MB] every `intervalMs`. */
  samples: [number, number][];
}

export interface RssSummary {
  name: string;
  startMb: number;
  /** At the first sample after `warmupJobs` jobs. */
  afterWarmupMb: number;
  endMb: number;
  maxMb: number;
  /** Least-squares slope of RSS over jobs after the warm-up, in MB per 1,000 jobs (≈ 0: flat). */
  slopeMbPer1000: number;
  samples: number;
}

/** Samples the RSS of each named process until stopped; `jobs()` says how many jobs are done. */
export class RssSampler {
  private readonly traces: RssTrace[];
  private readonly timer: NodeJS.Timeout;
  private readonly sample: () => void;

  constructor(processes: readonly { name: string; pid: number }[], jobs: () => number, intervalMs = 200) {
    this.traces = processes.map((p) => ({ name: p.name, samples: [] }));
    this.sample = () => processes.forEach((p, i) => this.traces[i].samples.push([jobs(), rssMb(p.pid)]));
    this.sample();
    this.timer = setInterval(this.sample, intervalMs);
  }

  /** One last sample (the end), then the summaries. */
  stop(warmupJobs: number): RssSummary[] {
    clearInterval(this.timer);
    this.sample();
    return this.traces.map((t) => summarise(t, warmupJobs));
  }
}

function summarise(t: RssTrace, warmupJobs: number): RssSummary {
  const after = t.samples.filter(([j]) => j >= warmupJobs);
  const n = after.length;
  const mx = after.reduce((s, [j]) => s + j, 0) / n;
  const my = after.reduce((s, [, r]) => s + r, 0) / n;
  const sxx = after.reduce((s, [j]) => s + (j - mx) ** 2, 0);
  const sxy = after.reduce((s, [j, r]) => s + (j - mx) * (r - my), 0);
  return {
    name: t.name,
    startMb: t.samples[0][1],
    afterWarmupMb: after[0]?.[1] ?? NaN,
    endMb: t.samples[t.samples.length - 1][1],
    maxMb: Math.max(...t.samples.map(([, r]) => r)),
    slopeMbPer1000: sxx > 0 ? (1000 * sxy) / sxx : 0,
    samples: t.samples.length,
  };
}
