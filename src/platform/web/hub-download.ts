// One Hub file into memory in a browser: its size before the download (for the progress plan), then
// its bytes through the fetch body stream, counted as they arrive, resumed and checked.
//
// Node asks `HEAD /resolve/` with `redirect: 'manual'` to read the redirect's X-Linked-Etag /
// X-Linked-Size before going to the CDN (src/hub/http.ts `fileMeta`). A page cannot: a manual
// redirect is an opaque response without status or headers. So here the HEAD follows the redirect,
// and what it reads comes from the last hop — the Hub itself for a small file (X-Repo-Commit, ETag
// = git sha1, Content-Length), the CDN for an LFS file (its Content-Length; its ETag, which on the
// Hub's CDN as on the fake one is the sha256). Cross-origin, a header is only visible when the
// server lists it in Access-Control-Expose-Headers; huggingface.co does for these.
//
//   - a cut connection is resumed with `Range: bytes=<have>-` (LFS files, which are never
//     compressed) up to ATTEMPTS times; a server that ignores the Range (200) restarts the file;
//   - an LFS file (sha256 ETag) must have exactly the announced size and that sha256
//     (crypto.subtle), else HUB_DOWNLOAD_FAILED; a small file is taken as the stream delivers it
//     (the browser may have decompressed it, so its byte count need not match Content-Length).

import { LatentlabError } from '../../core/errors.js';
import type { HubClient } from '../../hub/http.js';

const ATTEMPTS = 5;
const RETRY_DELAY_MS = 200;
/** A download that receives nothing for this long is aborted (and resumed). */
const IDLE_TIMEOUT_MS = 30_000;
const SHA256 = /^[0-9a-f]{64}$/;

/** What a followed HEAD tells about one file. */
export interface WebFileMeta {
  readonly path: string;
  readonly size: number;
  /** The sha256 of an LFS file, when the last hop's ETag is one. */
  readonly sha256?: string;
}

/** HEAD on `/{repo}/resolve/{commit}/{path}`, redirects followed; see the header. */
export async function webFileMeta(client: HubClient, commit: string, path: string): Promise<WebFileMeta> {
  const url = client.resolveUrl(commit, path);
  const res = await client.request(url, { method: 'HEAD' }, path);
  const h = res.headers;
  const repoCommit = h.get('x-repo-commit');
  if (repoCommit && repoCommit !== commit) {
    throw new LatentlabError('HUB_BAD_RESPONSE', `${url} answered for commit ${repoCommit}, expected ${commit}`, {
      file: path, hint: 'a mirror or proxy in between serves another revision: check the endpoint (configureHub)',
    });
  }
  const size = Number(h.get('x-linked-size') ?? h.get('content-length') ?? NaN);
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new LatentlabError('HUB_BAD_RESPONSE', `HEAD ${url} answered without a size the page can read (Content-Length / X-Linked-Size)`, {
      file: path, hint: `${client.ctx.settings.endpoint} must send the Hub's headers and expose them to pages (CORS: Access-Control-Expose-Headers)`,
    });
  }
  const etag = (h.get('x-linked-etag') ?? h.get('etag'))?.replace(/^W\//, '').replace(/"/g, '');
  return { path, size, sha256: etag && SHA256.test(etag) ? etag : undefined };
}

/** The file's bytes; `onBytes(n)` after every chunk (n = bytes so far). See the header. */
export async function downloadWebFile(client: HubClient, commit: string, meta: WebFileMeta, onBytes: (bytes: number) => void): Promise<Uint8Array> {
  const url = client.resolveUrl(commit, meta.path);
  let chunks: Uint8Array[] = [];
  let have = 0;
  for (let attempt = 1; ; attempt++) {
    const ctl = new AbortController();
    let idle = setTimeout(() => ctl.abort(), IDLE_TIMEOUT_MS);
    try {
      const resume = meta.sha256 !== undefined && have > 0;
      const res = await client.request(url, { signal: ctl.signal, headers: resume ? { range: `bytes=${have}-` } : {} }, meta.path);
      if (res.status !== 206) {
        chunks = [];
        have = 0;
      }
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        clearTimeout(idle);
        idle = setTimeout(() => ctl.abort(), IDLE_TIMEOUT_MS);
        chunks.push(value);
        have += value.byteLength;
        onBytes(have);
      }
      if (meta.sha256 !== undefined && have < meta.size) throw new Error(`the connection closed after ${have} of ${meta.size} bytes`);
      break;
    } catch (e) {
      const final = e instanceof LatentlabError && !['HUB_UNREACHABLE', 'HUB_SERVER_ERROR'].includes(e.code);
      if (final) throw e;
      if (attempt >= ATTEMPTS) {
        throw new LatentlabError('HUB_DOWNLOAD_INTERRUPTED', `${meta.path} of ${client.ctx.repoId}: the download broke off ${ATTEMPTS} times (${have} of ${meta.size} bytes; last: ${(e as Error).message})`, {
          file: meta.path, cause: e, hint: 'check the connection and load the model again; files already downloaded stay in the Cache API',
        });
      }
      await new Promise((r) => setTimeout(r, RETRY_DELAY_MS * attempt));
    } finally {
      clearTimeout(idle);
    }
  }
  const bytes = concat(chunks, have);
  await verify(client, meta, bytes);
  return bytes;
}

async function verify(client: HubClient, meta: WebFileMeta, bytes: Uint8Array): Promise<void> {
  if (meta.sha256 === undefined) return;
  const what = `${meta.path} of ${client.ctx.repoId}`;
  if (bytes.byteLength !== meta.size) {
    throw new LatentlabError('HUB_DOWNLOAD_FAILED', `${what}: received ${bytes.byteLength} bytes, the Hub announced ${meta.size}`, { file: meta.path, hint: 'load the model again; a proxy may be altering downloads' });
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  if (hex !== meta.sha256) {
    throw new LatentlabError('HUB_DOWNLOAD_FAILED', `${what}: sha256 ${hex}, the Hub announced ${meta.sha256}`, { file: meta.path, hint: 'load the model again; a proxy may be altering downloads' });
  }
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
