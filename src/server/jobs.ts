// Jobs: what both queues (in-process: local-queue.ts; Redis/BullMQ: redis-queue.ts) hold, and
// the one interface the routes use. A job is an A1111 request (JSON, so it can travel through
// Redis) plus its state, progress and result; listeners get its events (the SSE stream).

import { LatentlabError } from '../node.js';
import type { GenerationRequest } from './a1111-schemas.js';

export type JobKind = 'txt2img' | 'img2img';
export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface JobProgress {
  /** Image k of the request, and their number. */
  jobNo: number;
  jobCount: number;
  step: number;
  steps: number;
  /** 0–1 over the whole request. */
  fraction: number;
  /** A small base64 PNG of the current latents (preview.ts). */
  preview?: string;
}

export interface JobResult {
  images: string[];
  /** A1111's info object. */
  info: Record<string, unknown>;
}

export interface JobError {
  code: string;
  message: string;
  key?: string;
  hint?: string;
  /** The HTTP status the A1111 routes answer with (422 for a bad request, 500 otherwise). */
  status: number;
}

export interface JobRecord {
  id: string;
  kind: JobKind;
  state: JobState;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** 0-based place in the queue while queued (0: next to run). */
  position?: number;
  progress?: JobProgress;
  result?: JobResult;
  error?: JobError;
  /** How many times a worker started it (more than 1 after a stalled worker's job was retried). */
  attempts?: number;
  /** The worker that runs or ran it (Redis queue). */
  worker?: string;
}

export type JobEvent =
  | { type: 'queued'; position: number }
  | { type: 'started' }
  | ({ type: 'step' } & JobProgress)
  | { type: 'completed'; result: JobResult }
  | { type: 'failed'; error: JobError }
  | { type: 'cancelled' };

export type JobListener = (event: JobEvent, job: JobRecord) => void;

export interface JobQueue {
  /** Queues a job and returns at once; QUEUE_FULL (429) past the queue's limit. */
  submit(kind: JobKind, request: GenerationRequest): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Cancels a queued job, or aborts a running one after its current step. */
  cancel(id: string): Promise<JobRecord | undefined>;
  /** Cancels every running job (A1111's /interrupt). */
  interruptAll(): Promise<void>;
  /** Events of one job until it ends; returns the unsubscribe function. */
  subscribe(id: string, listener: JobListener): () => void;
  /** The running jobs, oldest first (A1111's /progress shows the first). */
  running(): Promise<JobRecord[]>;
  /** Waits for the job to end and returns its final record. */
  wait(id: string): Promise<JobRecord>;
  /** Stops taking jobs; lets running ones finish (or re-queues them, for Redis). */
  close(): Promise<void>;
}

export function queueFull(limit: number): LatentlabError {
  return new LatentlabError('QUEUE_FULL', `the queue holds ${limit} jobs, its limit`, { hint: 'retry later, or start the server with a larger --max-queue' });
}

/** The error a failed job records: request errors (SERVER_REQUEST, PIPELINE_*) are the client's (422). */
export function jobError(e: unknown): JobError {
  if (e instanceof LatentlabError) {
    const client = e.code === 'SERVER_REQUEST' || e.code === 'IMAGE_DECODE' || e.code.startsWith('PIPELINE_') || e.code === 'SCHEDULER_STEPS' || e.code === 'RESOURCE_MEMORY';
    return { code: e.code, message: e.message, key: e.key, hint: e.hint, status: e.code === 'CANCELLED' ? 409 : client ? 422 : 500 };
  }
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e), status: 500 };
}

/** Waits for a job's end through its events (works for either queue). */
export function waitThroughEvents(q: Pick<JobQueue, 'get' | 'subscribe'>, id: string): Promise<JobRecord> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (job: JobRecord) => {
      if (done) return;
      done = true;
      unsubscribe();
      resolve(job);
    };
    const unsubscribe = q.subscribe(id, (event, job) => {
      if (event.type === 'completed' || event.type === 'failed' || event.type === 'cancelled') finish(job);
    });
    q.get(id).then((job) => {
      if (!job) reject(new LatentlabError('JOB_NOT_FOUND', `no job ${id}`, { key: 'id' }));
      else if (job.state === 'completed' || job.state === 'failed' || job.state === 'cancelled') finish(job);
    }, reject);
  });
}
