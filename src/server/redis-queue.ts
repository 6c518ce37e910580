// The queue scaled out: jobs on BullMQ (Redis), run by `latentlab worker` processes on any number
// of machines (redis-worker.ts). Progress (with previews), results and errors travel through
// BullMQ's job data and its event stream (QueueEvents); cancelling a running job is a message on
// a Redis channel that every worker hears, and the one running it aborts the job's AbortSignal.
// Queued jobs live in Redis, so they survive a restart of the server; a job whose worker dies is
// moved back to the queue by BullMQ's stalled-job check and runs again on another worker.

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';

import { type Job, Queue, QueueEvents } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

import { LatentlabError } from '../node.js';
import type { GenerationRequest } from './a1111-schemas.js';
import { type JobError, type JobEvent, type JobKind, type JobListener, type JobProgress, type JobQueue, type JobRecord, type JobResult, queueFull, waitThroughEvents } from './jobs.js';

export const QUEUE_NAME = 'latentlab';
export const CANCEL_CHANNEL = 'latentlab:cancel';
const CANCELLED_KEY = (id: string) => `latentlab:cancelled:${id}`;

export interface JobData {
  kind: JobKind;
  request: GenerationRequest;
}

/** redis://[user:pass@]host:port[/db] → ioredis options (BullMQ needs maxRetriesPerRequest: null). */
export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    u = new URL('invalid:');
  }
  if (u.protocol !== 'redis:') {
    throw new LatentlabError('CLI_ARGUMENT', `--queue ${JSON.stringify(url)}: expected a redis://host:port URL`, { key: '--queue', hint: 'e.g. --queue redis://127.0.0.1:6379' });
  }
  return {
    host: u.hostname || '127.0.0.1', port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0),
    username: u.username || undefined, password: u.password ? decodeURIComponent(u.password) : undefined, maxRetriesPerRequest: null,
  };
}

/** The state and record of a BullMQ job, in the job API's terms. */
export async function toRecord(job: Job<JobData>, waitingIds?: string[], known?: string): Promise<JobRecord> {
  const state = known ?? (await job.getState());
  const r: JobRecord = { id: job.id!, kind: job.data.kind, state: 'queued', createdAt: job.timestamp, attempts: job.attemptsStarted };
  if (job.processedOn) r.startedAt = job.processedOn;
  if (job.processedBy) r.worker = job.processedBy;
  if (job.finishedOn) r.finishedAt = job.finishedOn;
  if (typeof job.progress === 'object' && job.progress !== null) r.progress = job.progress as unknown as JobProgress;
  if (state === 'active') r.state = 'running';
  else if (state === 'completed') {
    r.state = 'completed';
    r.result = job.returnvalue as JobResult;
  } else if (state === 'failed') {
    const error = parseError(job.failedReason);
    if (error.code === 'CANCELLED') r.state = 'cancelled';
    else {
      r.state = 'failed';
      r.error = error;
    }
  } else if (waitingIds) {
    r.position = Math.max(0, waitingIds.indexOf(job.id!));
  }
  return r;
}

export function parseError(reason: string | undefined): JobError {
  try {
    const e = JSON.parse(reason ?? '') as JobError;
    if (typeof e.code === 'string') return e;
  } catch {
    // not ours: a worker crash or BullMQ's own reason ("job stalled more than allowable limit")
  }
  return { code: 'WORKER', message: reason ?? 'failed', status: 500 };
}

export interface RedisQueueOptions {
  maxQueue?: number;
}

export class RedisQueue implements JobQueue {
  private readonly events = new EventEmitter();

  private constructor(
    private readonly queue: Queue<JobData>,
    private readonly queueEvents: QueueEvents,
    private readonly redis: Redis,
    private readonly maxQueue: number,
  ) {
    this.events.setMaxListeners(0);
    const relay = (id: string, make: (job: JobRecord) => JobEvent | undefined) => {
      if (this.events.listenerCount(id) === 0) return;
      void this.get(id).then((job) => {
        const event = job && make(job);
        if (job && event) this.events.emit(id, event, job);
      }, () => undefined);
    };
    queueEvents.on('active', ({ jobId }) => relay(jobId, () => ({ type: 'started' })));
    queueEvents.on('progress', ({ jobId, data }) => relay(jobId, () => ({ type: 'step', ...(data as unknown as JobProgress) })));
    queueEvents.on('completed', ({ jobId }) => relay(jobId, (job) => ({ type: 'completed', result: job.result! })));
    queueEvents.on('failed', ({ jobId }) => relay(jobId, (job) => (job.state === 'cancelled' ? { type: 'cancelled' } : { type: 'failed', error: job.error! })));
    queueEvents.on('removed', ({ jobId }) => relay(jobId, (job) => (job.state === 'cancelled' ? { type: 'cancelled' } : undefined)));
  }

  static async connect(url: string, o: RedisQueueOptions = {}): Promise<RedisQueue> {
    const connection = redisOptions(url);
    const queue = new Queue<JobData>(QUEUE_NAME, { connection });
    const queueEvents = new QueueEvents(QUEUE_NAME, { connection });
    const redis = new Redis(connection);
    await Promise.all([queue.waitUntilReady(), queueEvents.waitUntilReady()]);
    return new RedisQueue(queue, queueEvents, redis, o.maxQueue ?? 100);
  }

  async submit(kind: JobKind, request: GenerationRequest): Promise<JobRecord> {
    if ((await this.queue.getWaitingCount()) >= this.maxQueue) throw queueFull(this.maxQueue);
    const job = await this.queue.add(kind, { kind, request }, { jobId: randomUUID(), removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } });
    return toRecord(job, await this.waitingIds());
  }

  async get(id: string): Promise<JobRecord | undefined> {
    // The state first, then the job: read the other way round, a job that completes in between
    // would show as completed without its return value.
    const state = await this.queue.getJobState(id);
    const job = await this.queue.getJob(id);
    if (!job || state === 'unknown') {
      const cancelled = await this.redis.get(CANCELLED_KEY(id));
      return cancelled ? (JSON.parse(cancelled) as JobRecord) : undefined;
    }
    return toRecord(job, await this.waitingIds(), state);
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    const job = await this.queue.getJob(id);
    if (!job) return this.get(id);
    const state = await job.getState();
    if (state === 'active') {
      await this.redis.publish(CANCEL_CHANNEL, id);
      return toRecord(job);
    }
    if (state === 'completed' || state === 'failed') return toRecord(job);
    const record: JobRecord = { ...(await toRecord(job)), state: 'cancelled', position: undefined, finishedAt: Date.now() };
    await this.redis.set(CANCELLED_KEY(id), JSON.stringify(record), 'EX', 24 * 3600);
    await job.remove();
    return record;
  }

  async interruptAll(): Promise<void> {
    for (const job of await this.queue.getActive()) await this.redis.publish(CANCEL_CHANNEL, job.id!);
  }

  subscribe(id: string, listener: JobListener): () => void {
    this.events.on(id, listener);
    return () => this.events.off(id, listener);
  }

  async running(): Promise<JobRecord[]> {
    const active = await this.queue.getActive();
    const records = await Promise.all(active.map((j) => toRecord(j as Job<JobData>)));
    return records.sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
  }

  wait(id: string): Promise<JobRecord> {
    return waitThroughEvents(this, id);
  }

  /** The server stops; the jobs stay in Redis for the workers and the next server. */
  async close(): Promise<void> {
    await this.queueEvents.close();
    await this.queue.close();
    this.redis.disconnect();
  }

  private async waitingIds(): Promise<string[]> {
    return (await this.queue.getWaiting(0, this.maxQueue)).map((j) => j.id!); // oldest first
  }
}
