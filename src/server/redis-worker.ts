// `latentlab worker`: takes jobs from the BullMQ queue and runs them on this machine's models.
// Progress (with a preview) goes into the job through job.updateProgress, at most a few times a
// second; the result is the job's return value. A job is cancelled through the cancel channel
// (redis-queue.ts) by aborting its AbortSignal. If this process dies mid-job, its lock expires
// after lockDuration and another worker's stalled check puts the job back in the queue.

import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';

import { runA1111 } from './generate.js';
import { jobError } from './jobs.js';
import { ModelHost } from './models.js';
import { latentPreview } from './preview.js';
import { CANCEL_CHANNEL, type JobData, QUEUE_NAME, redisOptions } from './redis-queue.js';

export interface WorkerSettings {
  queueUrl: string;
  models: readonly string[];
  version: string;
  /** Shown in results (info.worker) and in BullMQ's processedBy. */
  name?: string;
  threads?: number;
  /** As ServerSettings.loraDir. */
  loraDir?: string;
  /** Textual-inversion embeddings for every model (A1111's embeddings/). */
  embeddingsDir?: string;
  concurrency?: number;
  maxPixels?: number;
  /** BullMQ's lock: a dead worker's job is taken back after this long (default 30 s). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export interface RunningWorker {
  worker: Worker<JobData>;
  /** Finishes the running job(s), then stops. */
  stop(): Promise<void>;
}

export async function startWorker(s: WorkerSettings): Promise<RunningWorker> {
  const host = await ModelHost.create(s.models, { threads: s.threads, loraDir: s.loraDir, embeddingsDir: s.embeddingsDir });
  const connection = redisOptions(s.queueUrl);
  const name = s.name ?? `worker-${process.pid}`;
  const worker = new Worker<JobData>(QUEUE_NAME, async (job, _token, signal) => {
    let lastSent = 0;
    try {
      const result = await runA1111(job.data.kind, job.data.request, host, s.version, { maxPixels: s.maxPixels ?? 2048 * 2048 }, {
        signal,
        onStep: (step) => {
          const now = Date.now();
          const last = step.step === step.steps && step.jobNo === step.jobCount - 1;
          if (now - lastSent < 200 && !last) return;
          lastSent = now;
          const done = step.jobNo * step.steps + step.step;
          void latentPreview(step.latents).then((preview) => job.updateProgress({
            jobNo: step.jobNo, jobCount: step.jobCount, step: step.step, steps: step.steps, fraction: done / (step.jobCount * step.steps), preview,
          })).catch(() => undefined);
        },
      });
      return { ...result, info: { ...result.info, worker: name } };
    } catch (e) {
      throw new UnrecoverableError(JSON.stringify(jobError(e))); // a bad request or a cancel is not retried
    }
  }, {
    connection, name, concurrency: s.concurrency ?? 1, autorun: true,
    lockDuration: s.lockDurationMs ?? 30_000, stalledInterval: s.stalledIntervalMs ?? 30_000, maxStalledCount: 1,
  });
  const subscriber = new Redis(connection);
  await subscriber.subscribe(CANCEL_CHANNEL);
  subscriber.on('message', (_channel, id: string) => worker.cancelJob(id, 'cancelled by request'));
  await worker.waitUntilReady();
  return {
    worker,
    async stop() {
      subscriber.disconnect();
      await worker.close();
      await host.close();
    },
  };
}
