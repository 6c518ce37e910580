// --api-auth user:pass[,user:pass…] (HTTP Basic, as A1111) and/or --api-token (Bearer). Either
// accepted credential passes; a wrong or missing one is 401 with `WWW-Authenticate: Basic`, as
// A1111 answers. Comparisons are constant-time over SHA-256 digests, so neither the length nor
// the first differing byte of a secret leaks through the response time.

import { createHash, timingSafeEqual } from 'node:crypto';

import type { MiddlewareHandler } from 'hono';

import { LatentlabError } from '../node.js';

export interface AuthOptions {
  /** "user:pass" pairs. */
  basic?: readonly string[];
  tokens?: readonly string[];
}

const digest = (s: string) => createHash('sha256').update(s).digest();
const same = (a: Buffer, b: Buffer) => timingSafeEqual(a, b);

/** Parses --api-auth's value; each pair must hold a colon with a non-empty user before it. */
export function parseApiAuth(value: string): string[] {
  const pairs = value.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  for (const p of pairs) {
    if (p.indexOf(':') < 1) throw new LatentlabError('CLI_ARGUMENT', `--api-auth ${JSON.stringify(value)}: ${JSON.stringify(p.replace(/:.*/, ':…'))} is not user:password`, { key: '--api-auth', hint: 'give --api-auth user:password, several separated by commas' });
  }
  if (pairs.length === 0) throw new LatentlabError('CLI_ARGUMENT', '--api-auth is empty', { key: '--api-auth', hint: 'give --api-auth user:password' });
  return pairs;
}

export function authMiddleware(o: AuthOptions): MiddlewareHandler | undefined {
  const basic = (o.basic ?? []).map(digest);
  const tokens = (o.tokens ?? []).map(digest);
  if (basic.length === 0 && tokens.length === 0) return undefined;
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const [scheme, value = ''] = header.split(/\s+/, 2);
    let ok = false;
    if (/^basic$/i.test(scheme ?? '') && basic.length > 0) {
      const given = digest(Buffer.from(value, 'base64').toString('utf8'));
      ok = basic.map((b) => same(b, given)).includes(true); // every entry compared: no early exit
    } else if (/^bearer$/i.test(scheme ?? '') && tokens.length > 0) {
      const given = digest(value);
      ok = tokens.map((t) => same(t, given)).includes(true);
    }
    if (!ok) {
      return c.json({ error: 'HTTPException', detail: 'Incorrect username or password', body: '', errors: 'authentication required' }, 401, {
        'WWW-Authenticate': basic.length > 0 ? 'Basic' : 'Bearer',
      });
    }
    await next();
  };
}
