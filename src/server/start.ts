// Putting a server together from its settings (the `serve` command's flags; tests call it too):
// the models, the queue (in-process, or BullMQ on Redis), the app, the listening socket, and a
// graceful stop (SIGTERM: stop taking requests, finish the running jobs or — on Redis — hand them back).

import type { ServerLimits } from './a1111-routes.js';
import { createApp, listen, type StartedServer } from './app.js';
import { runA1111 } from './generate.js';
import type { JobQueue } from './jobs.js';
import { LocalQueue } from './local-queue.js';
import { ModelHost } from './models.js';

export interface ServerSettings {
  models: readonly string[];
  host?: string;
  port?: number;
  version: string;
  threads?: number;
  /** Where `<lora:name:w>` prompt tags find name.safetensors. */
  loraDir?: string;
  /** Textual-inversion embeddings for every model (A1111's embeddings/). */
  embeddingsDir?: string;
  concurrency?: number;
  limits?: Partial<ServerLimits>;
  basicAuth?: readonly string[];
  tokens?: readonly string[];
  corsOrigins?: readonly string[];
  /** redis://… : queue on BullMQ; workers (`latentlab worker`) run the jobs. */
  queueUrl?: string;
}

export interface RunningServer extends StartedServer {
  url: string;
  queue: JobQueue;
  host: ModelHost;
  /** Stops taking requests, lets the queue finish or hand back its jobs, frees the models. */
  stop(): Promise<void>;
}

export async function startServer(s: ServerSettings): Promise<RunningServer> {
  const host = await ModelHost.create(s.models, { threads: s.threads, loraDir: s.loraDir, embeddingsDir: s.embeddingsDir });
  const maxPixels = s.limits?.maxPixels ?? 2048 * 2048;
  let queue: JobQueue;
  if (s.queueUrl) {
    const { RedisQueue } = await import('./redis-queue.js'); // BullMQ is loaded only when asked for
    queue = await RedisQueue.connect(s.queueUrl, { maxQueue: s.limits?.maxQueue });
  } else {
    queue = new LocalQueue((kind, request, ctx) => runA1111(kind, request, host, s.version, { maxPixels, maxSteps: s.limits?.maxSteps }, ctx), {
      concurrency: s.concurrency, maxQueue: s.limits?.maxQueue,
    });
  }
  const { app } = createApp({ queue, host, version: s.version, limits: s.limits, auth: { basic: s.basicAuth, tokens: s.tokens }, corsOrigins: s.corsOrigins });
  const started = await listen(app, s.host ?? '127.0.0.1', s.port ?? 7860);
  const shown = (s.host ?? '127.0.0.1').includes(':') ? `[${s.host}]` : s.host ?? '127.0.0.1';
  return {
    ...started, queue, host, url: `http://${shown}:${started.port}`,
    async stop() {
      // Stop accepting connections; requests in flight get their answers once their jobs end; then
      // the connections left (event streams, idle keep-alives) are closed.
      const closing = new Promise<void>((r) => started.server.close(() => r()));
      await queue.close();
      await new Promise((r) => setTimeout(r, 100));
      (started.server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closing;
      await host.close();
    },
  };
}
