// ONNX Runtime on its own thread, so the JavaScript thread stays free while a graph runs.
//
// onnxruntime-node's `session.run` is synchronous native code behind a promise: it blocks the event
// loop for the whole run (~15 s for SD 1.5's UNet at 1024²). While it is blocked nothing else
// happens — no Ctrl-C handler, no progress, no HTTP request of a server. So every session lives in
// one worker thread, and the main thread only posts inputs and awaits outputs: a second Ctrl-C ends
// the process at once (cli/session.ts), and a server keeps answering while it generates.
//
// The worker's code is the small string below (no imports of ours: it must run the same from dist/,
// from the TypeScript sources under tsx and inside the test runner). Tensors cross as
// { type, data, dims }: the typed arrays are copied (latents are kilobytes; weights never cross —
// ONNX Runtime maps them from their files inside the worker).

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

import type * as ort from 'onnxruntime-node';

/** A tensor as it crosses the thread boundary. */
export interface WireTensor {
  type: ort.Tensor.Type;
  data: ort.Tensor.DataType;
  dims: readonly number[];
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ort);
ort.env.logLevel = workerData.logLevel;
const sessions = new Map();
let nextSession = 1;
const handlers = {
  async create({ source, options }) {
    const s = await ort.InferenceSession.create(source, options);
    const id = nextSession++;
    sessions.set(id, s);
    return { id, inputNames: s.inputNames, outputNames: s.outputNames };
  },
  async run({ session, feeds, outputs }) {
    const s = sessions.get(session);
    const tensors = {};
    for (const [name, t] of Object.entries(feeds)) tensors[name] = new ort.Tensor(t.type, t.data, t.dims);
    const result = outputs ? await s.run(tensors, outputs) : await s.run(tensors);
    const out = {};
    for (const [name, t] of Object.entries(result)) out[name] = { type: t.type, data: t.data, dims: t.dims };
    return out;
  },
  async release({ session }) {
    const s = sessions.get(session);
    sessions.delete(session);
    if (s) await s.release();
  },
};
parentPort.on('message', async ({ call, op, args }) => {
  try {
    parentPort.postMessage({ call, value: await handlers[op](args) });
  } catch (e) {
    parentPort.postMessage({ call, error: e instanceof Error ? e.message : String(e) });
  }
});
`;

type Op = 'create' | 'run' | 'release';

/**
 * ONNX Runtime's log level: 'fatal' hides its own stderr lines (the CUDA library load failure,
 * telemetry notes) that duplicate the errors latentlab raises; LATENTLAB_DEBUG=1 (the CLI's
 * --debug) shows its warnings again.
 */
export function ortLogLevel(env: NodeJS.ProcessEnv = process.env): 'warning' | 'fatal' {
  const v = env.LATENTLAB_DEBUG?.toLowerCase();
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v) ? 'warning' : 'fatal';
}

class OrtThread {
  private worker?: Worker;
  private nextCall = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private start(): Worker {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { ort: createRequire(import.meta.url).resolve('onnxruntime-node'), logLevel: ortLogLevel() } });
    w.on('message', ({ call, value, error }: { call: number; value?: unknown; error?: string }) => {
      const p = this.pending.get(call);
      this.pending.delete(call);
      if (this.pending.size === 0) w.unref();
      if (error !== undefined) p?.reject(new Error(error));
      else p?.resolve(value);
    });
    // A crash of the thread itself (not an ONNX Runtime error, which comes back as a message).
    w.on('error', (e) => this.failAll(e));
    w.on('exit', (code) => {
      this.worker = undefined;
      this.failAll(new Error(`the ONNX Runtime thread stopped (exit code ${code})`));
    });
    w.unref(); // an idle thread never keeps the process alive; a pending call does (ref below)
    return w;
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  call<T>(op: Op, args: Record<string, unknown>): Promise<T> {
    const w = (this.worker ??= this.start());
    const call = this.nextCall++;
    w.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(call, { resolve: resolve as (v: unknown) => void, reject });
      w.postMessage({ call, op, args });
    });
  }
}

const thread = new OrtThread();

/** A session that lives in the ONNX Runtime thread. */
export class ThreadSession {
  private constructor(
    private readonly id: number,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  static async create(source: Uint8Array | string, options: ort.InferenceSession.SessionOptions): Promise<ThreadSession> {
    const r = await thread.call<{ id: number; inputNames: string[]; outputNames: string[] }>('create', { source, options });
    return new ThreadSession(r.id, r.inputNames, r.outputNames);
  }

  run(feeds: Record<string, WireTensor>, outputs?: readonly string[]): Promise<Record<string, WireTensor>> {
    return thread.call('run', { session: this.id, feeds, outputs });
  }

  release(): Promise<void> {
    return thread.call('release', { session: this.id });
  }
}
