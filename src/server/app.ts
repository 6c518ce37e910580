// The HTTP server: Hono (web-standard Request/Response, built-in Basic/Bearer-free body limits,
// CORS and SSE helpers, no plugin system to learn; docs/server.md says why over Fastify) on
// node's http through @hono/node-server. Safe by default: 127.0.0.1, no CORS, bounded bodies,
// every error a 4xx/5xx JSON in A1111's shape, never a crash.

import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';

import { LatentlabError } from '../node.js';
import { addA1111Routes, DEFAULT_LIMITS, type ServerLimits } from './a1111-routes.js';
import { type AuthOptions, authMiddleware } from './auth.js';
import { addJobRoutes } from './job-routes.js';
import type { JobQueue } from './jobs.js';
import type { ModelHost } from './models.js';
import { RouteTable, ValidationError } from './routes.js';

export interface AppOptions {
  queue: JobQueue;
  host: ModelHost;
  version: string;
  limits?: Partial<ServerLimits>;
  auth?: AuthOptions;
  /** Origins allowed by CORS (none: CORS off). */
  corsOrigins?: readonly string[];
}

/** HTTP status of a LatentlabError a route threw. */
function statusOf(e: LatentlabError): 404 | 413 | 422 | 429 | 500 {
  if (e.code === 'JOB_NOT_FOUND') return 404;
  if (e.code === 'QUEUE_FULL') return 429;
  if (e.code === 'SERVER_REQUEST' || e.code === 'IMAGE_DECODE' || e.code.startsWith('PIPELINE_') || e.code === 'SCHEDULER_STEPS' || e.code === 'RESOURCE_MEMORY') return 422;
  return 500;
}

export function createApp(o: AppOptions): { app: Hono; routes: RouteTable } {
  const limits = { ...DEFAULT_LIMITS, ...o.limits };
  const app = new Hono();
  if (o.corsOrigins && o.corsOrigins.length > 0) app.use('*', cors({ origin: [...o.corsOrigins] }));
  const auth = o.auth && authMiddleware(o.auth);
  if (auth) app.use('*', auth);
  app.use('*', bodyLimit({
    maxSize: limits.maxBodyBytes,
    onError: (c) => c.json({ error: 'PayloadTooLarge', detail: `the body is larger than ${limits.maxBodyBytes} bytes, this server's limit`, body: '', errors: 'body too large' }, 413),
  }));
  app.onError((err, c) => {
    if (err instanceof ValidationError) {
      const detail = err.issues.map((i) => ({ loc: ['body', ...i.path.map(String)], msg: i.message, type: i.code }));
      return c.json({ error: 'RequestValidationError', detail, body: err.body ?? null, errors: err.message }, 422);
    }
    if (err instanceof LatentlabError) {
      return c.json({ error: err.code, detail: err.hint ? `${err.message}. ${err.hint}` : err.message, body: '', errors: err.message, key: err.key ?? null }, statusOf(err));
    }
    return c.json({ error: 'InternalError', detail: (err as Error).message, body: '', errors: String(err) }, 500);
  });
  app.notFound((c) => c.json({ error: 'NotFound', detail: `no route ${c.req.method} ${new URL(c.req.url).pathname}`, body: '', errors: 'Not Found' }, 404));

  const routes = new RouteTable(app);
  addA1111Routes(routes, o.queue, o.host, limits);
  addJobRoutes(routes, o.queue, limits);
  routes.add({ method: 'get', path: '/health', tag: 'server', summary: 'Liveness' }, (c) => c.json({ ok: true }));
  const doc = () => routes.openapi({ title: 'latentlab serve (AUTOMATIC1111-compatible)', version: o.version });
  routes.add({ method: 'get', path: '/openapi.json', tag: 'server', summary: 'This document' }, (c) => c.json(doc()));
  routes.add({ method: 'get', path: '/docs', tag: 'server', summary: 'The routes, as a page' }, (c) => c.html(docsPage(doc())));
  return { app, routes };
}

/** A self-contained page listing the routes (no scripts or assets from elsewhere). */
function docsPage(doc: Record<string, unknown>): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const rows = Object.entries(doc.paths as Record<string, Record<string, { summary: string }>>).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${esc(path)}</code></td><td>${esc(op.summary)}</td></tr>`));
  return `<!doctype html><meta charset="utf-8"><title>latentlab serve</title><h1>latentlab serve</h1><p>Request and response schemas: <a href="/openapi.json">/openapi.json</a>.</p><table>${rows.join('')}</table>`;
}

export interface StartedServer {
  server: ServerType;
  port: number;
  close(): Promise<void>;
}

/** Listens on host:port (port 0: any free port) and resolves once it does. */
export function listen(app: Hono, host: string, port: number): Promise<StartedServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info) => {
      resolve({
        server, port: info.port,
        close: () => new Promise<void>((r) => {
          server.close(() => r());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
      });
    });
    server.once('error', reject);
  });
}
