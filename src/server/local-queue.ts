// The in-process queue: FIFO, `concurrency` jobs at a time on this process's device (default 1:
// ONNX Runtime already uses every core for one job), at most `maxQueue` waiting (then 429). Finished
// jobs are kept for `keepFinished` more jobs, so memory stays flat however many jobs pass through.

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';

import type { GenerationRequest } from './a1111-schemas.js';
import { type JobEvent, type JobKind, type JobListener, type JobQueue, type JobRecord, jobError, queueFull, waitThroughEvents } from './jobs.js';
import type { RunContext, GenerationResult } from './generate.js';
import { latentPreview } from './preview.js';

export type JobRunner = (kind: JobKind, request: GenerationRequest, ctx: RunContext) => Promise<GenerationResult>;

export interface LocalQueueOptions {
  concurrency?: number;
  maxQueue?: number;
  keepFinished?: number;
}

interface Entry {
  record: JobRecord;
  request: GenerationRequest;
  controller: AbortController;
}

export class LocalQueue implements JobQueue {
  private readonly jobs = new Map<string, Entry>();
  private readonly waiting: string[] = [];
  private readonly active = new Set<string>();
  private readonly finished: string[] = [];
  private readonly events = new EventEmitter();
  private closed = false;
  private readonly concurrency: number;
  private readonly maxQueue: number;
  private readonly keepFinished: number;

  constructor(private readonly runner: JobRunner, o: LocalQueueOptions = {}) {
    this.concurrency = o.concurrency ?? 1;
    this.maxQueue = o.maxQueue ?? 100;
    this.keepFinished = o.keepFinished ?? 200;
    this.events.setMaxListeners(0);
  }

  async submit(kind: JobKind, request: GenerationRequest): Promise<JobRecord> {
    if (this.closed) throw queueFull(0);
    if (this.waiting.length >= this.maxQueue) throw queueFull(this.maxQueue);
    const record: JobRecord = { id: randomUUID(), kind, state: 'queued', createdAt: Date.now(), position: this.waiting.length };
    this.jobs.set(record.id, { record, request, controller: new AbortController() });
    this.waiting.push(record.id);
    this.emit(record.id, { type: 'queued', position: record.position! });
    queueMicrotask(() => this.pump());
    return { ...record };
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const e = this.jobs.get(id);
    return e && { ...e.record };
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    const e = this.jobs.get(id);
    if (!e) return undefined;
    if (e.record.state === 'queued') {
      this.waiting.splice(this.waiting.indexOf(id), 1);
      this.finish(e, 'cancelled');
      this.emit(id, { type: 'cancelled' });
      this.renumber();
    } else if (e.record.state === 'running') {
      e.controller.abort(new Error('cancelled by request'));
    }
    return { ...e.record };
  }

  async interruptAll(): Promise<void> {
    for (const id of this.active) await this.cancel(id);
  }

  subscribe(id: string, listener: JobListener): () => void {
    const l = (event: JobEvent, job: JobRecord) => listener(event, job);
    this.events.on(id, l);
    return () => this.events.off(id, l);
  }

  async running(): Promise<JobRecord[]> {
    return [...this.active].map((id) => ({ ...this.jobs.get(id)!.record }));
  }

  wait(id: string): Promise<JobRecord> {
    return waitThroughEvents(this, id);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const id of [...this.waiting]) await this.cancel(id);
    await Promise.all([...this.active].map((id) => this.wait(id).catch(() => undefined)));
  }

  /** Queued jobs, running jobs and kept finished jobs (tests check that memory stays bounded). */
  get sizes(): { waiting: number; active: number; kept: number } {
    return { waiting: this.waiting.length, active: this.active.size, kept: this.jobs.size };
  }

  private pump(): void {
    while (!this.closed && this.active.size < this.concurrency && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      this.active.add(id);
      this.renumber();
      void this.run(this.jobs.get(id)!);
    }
  }

  private async run(e: Entry): Promise<void> {
    const r = e.record;
    Object.assign(r, { state: 'running', startedAt: Date.now(), position: undefined, attempts: 1 });
    this.emit(r.id, { type: 'started' });
    try {
      const result = await this.runner(r.kind, e.request, {
        signal: e.controller.signal,
        onStep: (s) => {
          const done = s.jobNo * s.steps + s.step;
          const progress = { jobNo: s.jobNo, jobCount: s.jobCount, step: s.step, steps: s.steps, fraction: done / (s.jobCount * s.steps) };
          r.progress = progress;
          void latentPreview(s.latents).then((preview) => {
            if (r.state !== 'running') return; // the job ended meanwhile: no step after its end
            if (r.progress === progress) r.progress = { ...progress, preview };
            this.emit(r.id, { type: 'step', ...progress, preview });
          }, () => undefined);
        },
      });
      r.result = result;
      this.finish(e, 'completed');
      this.emit(r.id, { type: 'completed', result });
    } catch (err) {
      const error = jobError(err);
      if (error.code === 'CANCELLED') {
        this.finish(e, 'cancelled');
        this.emit(r.id, { type: 'cancelled' });
      } else {
        r.error = error;
        this.finish(e, 'failed');
        this.emit(r.id, { type: 'failed', error });
      }
    } finally {
      this.active.delete(r.id);
      this.pump();
    }
  }

  private finish(e: Entry, state: 'completed' | 'failed' | 'cancelled'): void {
    Object.assign(e.record, { state, finishedAt: Date.now() });
    this.finished.push(e.record.id);
    while (this.finished.length > this.keepFinished) this.jobs.delete(this.finished.shift()!);
  }

  private renumber(): void {
    this.waiting.forEach((id, i) => {
      const r = this.jobs.get(id)!.record;
      if (r.position !== i) {
        r.position = i;
        this.emit(id, { type: 'queued', position: i });
      }
    });
  }

  private emit(id: string, event: JobEvent): void {
    const e = this.jobs.get(id);
    if (e) this.events.emit(id, event, { ...e.record });
  }
}
