// latentlab's own job API: submit and return at once, poll, follow by Server-Sent Events, cancel.
// What A1111's synchronous routes cannot give their users (a job id, its place in the queue, its
// own progress): A1111 issues #3786, #9529, #13413, #16409.

import { streamSSE } from 'hono/streaming';
import { z } from 'zod';

import { LatentlabError } from '../node.js';
import { img2imgRequest, txt2imgRequest } from './a1111-schemas.js';
import { checkLimits, type ServerLimits } from './a1111-routes.js';
import type { JobEvent, JobQueue, JobRecord } from './jobs.js';
import type { RouteTable } from './routes.js';

export const jobRequest = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('txt2img'), request: txt2imgRequest }),
  z.object({ kind: z.literal('img2img'), request: img2imgRequest }),
]).describe('A job: the A1111 request body and which route it is for.');

const jobResponse = z.object({
  id: z.string(), kind: z.enum(['txt2img', 'img2img']), state: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
  createdAt: z.number(), startedAt: z.number().optional(), finishedAt: z.number().optional(), position: z.number().optional(),
  progress: z.object({ jobNo: z.number(), jobCount: z.number(), step: z.number(), steps: z.number(), fraction: z.number(), preview: z.string().optional() }).optional(),
  result: z.object({ images: z.array(z.string()), info: z.record(z.string(), z.unknown()) }).optional(),
  error: z.object({ code: z.string(), message: z.string(), key: z.string().optional(), hint: z.string().optional(), status: z.number() }).optional(),
  attempts: z.number().optional(),
});

const ENDS = new Set<JobEvent['type']>(['completed', 'failed', 'cancelled']);

function notFound(id: string): LatentlabError {
  return new LatentlabError('JOB_NOT_FOUND', `no job ${JSON.stringify(id)} (finished jobs are kept for a while, then forgotten)`, { key: 'id' });
}

export function addJobRoutes(t: RouteTable, q: JobQueue, limits: ServerLimits): void {
  t.add({ method: 'post', path: '/v1/jobs', tag: 'jobs', summary: 'Queue a job; answers at once with its id', body: jobRequest, response: jobResponse, status: 202 }, async (c, body) => {
    checkLimits(body.request, limits);
    return c.json(await q.submit(body.kind, body.request), 202);
  });
  t.add({ method: 'get', path: '/v1/jobs/{id}', tag: 'jobs', summary: 'A job\'s state, progress and result', response: jobResponse }, async (c) => {
    const job = await q.get(c.req.param('id')!);
    if (!job) throw notFound(c.req.param('id')!);
    return c.json(job);
  });
  t.add({ method: 'delete', path: '/v1/jobs/{id}', tag: 'jobs', summary: 'Cancel a job (a running one stops after its current step)', response: jobResponse }, async (c) => {
    const job = await q.cancel(c.req.param('id')!);
    if (!job) throw notFound(c.req.param('id')!);
    return c.json(job);
  });
  t.add({
    method: 'get', path: '/v1/jobs/{id}/events', tag: 'jobs',
    summary: 'Server-Sent Events: `state` (the record now), then queued (position), started, step (with a small preview), and one of completed / failed / cancelled',
  }, async (c) => {
    const id = c.req.param('id')!;
    const first = await q.get(id);
    if (!first) throw notFound(id);
    return streamSSE(c, async (stream) => {
      const pending: { event: JobEvent; job: JobRecord }[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = q.subscribe(id, (event, job) => {
        pending.push({ event, job });
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      try {
        const now = (await q.get(id)) ?? first;
        await stream.writeSSE({ event: 'state', data: JSON.stringify(now) });
        if (ENDS.has(now.state as JobEvent['type'])) return;
        for (;;) {
          while (pending.length === 0 && !stream.aborted) await new Promise<void>((r) => (wake = r));
          if (stream.aborted) return;
          const { event } = pending.shift()!;
          await stream.writeSSE({ event: event.type, data: JSON.stringify(event) });
          if (ENDS.has(event.type)) return;
        }
      } finally {
        unsubscribe();
      }
    });
  });
}
