// A route table over Hono: each route declares its body and response schemas once (zod); the
// table validates request bodies with them and builds the OpenAPI document from the same objects
// (z.toJSONSchema), so the docs cannot drift from what the server accepts.

import type { Context, Hono } from 'hono';
import { z } from 'zod';

import { LatentlabError } from '../node.js';

export interface RouteSpec<B extends z.ZodType | undefined> {
  method: 'get' | 'post' | 'delete';
  path: string;
  summary: string;
  tag: 'A1111' | 'jobs' | 'server';
  body?: B;
  response?: z.ZodType;
  /** Query parameters, for the document only. */
  query?: Record<string, string>;
  /** Status of a successful answer (default 200). */
  status?: number;
}

type Handler<B> = (c: Context, body: B) => Promise<Response> | Response;

/** The A1111 error of a body that failed its schema: 422, FastAPI's `detail` list, the first issue named in `errors`. */
export class ValidationError extends LatentlabError {
  constructor(readonly issues: z.core.$ZodIssue[], readonly body: unknown) {
    const first = issues[0];
    const where = first.path.length > 0 ? first.path.join('.') : 'the body';
    super('SERVER_REQUEST', `${where}: ${first.message}`, { key: first.path.length > 0 ? String(first.path.join('.')) : undefined });
  }
}

export class RouteTable {
  readonly routes: RouteSpec<z.ZodType | undefined>[] = [];

  constructor(private readonly app: Hono) {}

  add<B extends z.ZodType | undefined>(spec: RouteSpec<B>, handler: Handler<B extends z.ZodType ? z.output<B> : undefined>): void {
    this.routes.push(spec);
    const honoPath = spec.path.replace(/\{(\w+)\}/g, ':$1');
    this.app[spec.method](honoPath, async (c) => {
      if (!spec.body) return handler(c, undefined as never);
      let raw: unknown;
      try {
        raw = await c.req.json();
      } catch {
        throw new LatentlabError('SERVER_REQUEST', 'the request body is not JSON', { hint: 'send Content-Type: application/json with a JSON object' });
      }
      const parsed = spec.body.safeParse(raw);
      if (!parsed.success) throw new ValidationError(parsed.error.issues, raw);
      return handler(c, parsed.data as never);
    });
  }

  /** The OpenAPI 3.0 document of every route added. */
  openapi(info: { title: string; version: string }): Record<string, unknown> {
    const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' });
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.routes) {
      const op: Record<string, unknown> = { summary: r.summary, tags: [r.tag] };
      const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
      for (const [name, description] of Object.entries(r.query ?? {})) params.push({ name, in: 'query', required: false, schema: { type: 'string' }, description } as never);
      if (params.length > 0) op.parameters = params;
      if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: schema(r.body) } } };
      op.responses = {
        [String(r.status ?? 200)]: { description: 'OK', ...(r.response ? { content: { 'application/json': { schema: schema(r.response) } } } : {}) },
        ...(r.body ? { 422: { description: 'A field is missing, of the wrong type or out of range (A1111\'s error shape)' } } : {}),
      };
      (paths[r.path] ??= {})[r.method] = op;
    }
    return { openapi: '3.0.3', info, paths };
  }
}
