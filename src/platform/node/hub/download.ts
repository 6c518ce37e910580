// Downloading one blob into the cache, the way huggingface_hub's `_download_to_tmp_and_move` and
// `http_get` do it, plus a checksum:
//
// - bytes go to `blobs/<etag>.incomplete`; if that file exists (an earlier run was cut off), the
//   download resumes from its size with `Range: bytes=<size>-`;
// - a connection cut mid-file is retried (resuming again) a few times before giving up; what arrived
//   stays in `.incomplete` for the next run;
// - the finished file must have exactly the size the Hub announced, and for LFS files (ETag = sha256
//   of the content) that sha256 — only then is it renamed to `blobs/<etag>`, so a blob under its
//   final name is always whole.
//
// @huggingface/hub's downloadFileToCacheDir cannot do this: it always restarts from byte 0 (it opens
// `.incomplete` for writing, truncating it), checks neither size nor hash, reports no progress, makes
// three requests per file, and — unless given a commit sha — files each download under the snapshot
// of the file's own last commit instead of the commit the branch points to.

import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';

import { LatentlabError } from '../../../core/errors.js';
import type { FileMeta, HubClient } from '../../../hub/http.js';

const ATTEMPTS = 5;
const RETRY_DELAY_MS = 200;
/** A download that receives nothing for this long is aborted (and resumed). */
const IDLE_TIMEOUT_MS = 30_000;
/** Signed CDN links last about an hour; one older than this is renewed before use. */
const LINK_MAX_AGE_MS = 5 * 60_000;

/** Called with the bytes of the file present so far (resumed part included). */
export type BytesCallback = (bytes: number) => void;

const SHA256 = /^[0-9a-f]{64}$/;

/** What is in `.incomplete` so far, and the running sha256 of it (LFS files only). */
interface Progress {
  have: number;
  hash?: Hash;
}

/** Downloads `meta` into `blob` (see the header). Resolves once `blob` is complete and verified. */
export async function downloadBlob(client: HubClient, meta: FileMeta, blob: string, onBytes: BytesCallback): Promise<void> {
  const incomplete = `${blob}.incomplete`;
  const p: Progress = { have: await sizeOf(incomplete), hash: newHash(meta) };
  if (p.have > meta.size) {
    // Longer than the file can be, so not a prefix of it. It is our own scratch file: start over.
    await fsp.rm(incomplete, { force: true });
    p.have = 0;
  }
  if (p.hash && p.have > 0) await hashFile(incomplete, p.hash);
  onBytes(p.have);
  let url = meta.url;
  for (let attempt = 1; p.have < meta.size; attempt++) {
    try {
      // CDN links are signed and expire: ask the Hub for a fresh one before a retry or when it is old.
      if (attempt > 1 || Date.now() - meta.at > LINK_MAX_AGE_MS) url = (await client.fileMeta(meta.commit, meta.path)).url;
      await fetchInto(client, { ...meta, url }, incomplete, p, onBytes);
    } catch (e) {
      if (!retryable(e, client, url) || attempt >= ATTEMPTS) throw interrupted(e, meta, incomplete, p.have, attempt);
      await new Promise((r) => setTimeout(r, RETRY_DELAY_MS * attempt));
    }
  }
  await verify(meta, incomplete, p);
  await fsp.rename(incomplete, blob);
}

/**
 * Worth another attempt: no answer or a cut connection, or a refusal from the CDN (not the Hub), which
 * is what an expired signed link gets. The Hub's own refusals (gated, not found) are final.
 */
function retryable(e: unknown, client: HubClient, url: string): boolean {
  if (!(e instanceof LatentlabError)) return true;
  if (e.code === 'HUB_UNREACHABLE') return true;
  return new URL(url).origin !== new URL(client.ctx.settings.endpoint).origin && /^HUB_(FORBIDDEN|UNAUTHORIZED|HTTP_ERROR|REPO_NOT_FOUND|SERVER_ERROR)$/.test(e.code);
}

function newHash(meta: FileMeta): Hash | undefined {
  return SHA256.test(meta.etag) ? createHash('sha256') : undefined;
}

/** One GET from `p.have` on, appending to `incomplete`. A cut connection propagates raw (the caller retries). */
async function fetchInto(client: HubClient, meta: FileMeta, incomplete: string, p: Progress, onBytes: BytesCallback): Promise<void> {
  const abort = new AbortController();
  let idle = setTimeout(() => abort.abort(), IDLE_TIMEOUT_MS);
  try {
    const res = await client.request(meta.url, { headers: p.have > 0 ? { range: `bytes=${p.have}-` } : {}, signal: abort.signal }, meta.path);
    if (p.have > 0) await checkResume(res, meta, incomplete, p);
    const out = await fsp.open(incomplete, 'a');
    try {
      for await (const chunk of res.body ?? []) {
        clearTimeout(idle);
        idle = setTimeout(() => abort.abort(), IDLE_TIMEOUT_MS);
        const bytes = chunk as Uint8Array;
        await out.write(bytes);
        p.hash?.update(bytes);
        p.have += bytes.byteLength;
        onBytes(p.have);
      }
    } finally {
      await out.close();
    }
  } finally {
    clearTimeout(idle);
  }
}

/** A resumed request must answer 206 from our offset; a 200 (Range ignored) restarts the file from 0. */
async function checkResume(res: Response, meta: FileMeta, incomplete: string, p: Progress): Promise<void> {
  if (res.status === 200) {
    await fsp.rm(incomplete, { force: true });
    p.have = 0;
    p.hash = newHash(meta);
    return;
  }
  const range = res.headers.get('content-range');
  if (res.status !== 206 || Number(/^bytes (\d+)-/.exec(range ?? '')?.[1]) !== p.have) {
    await res.body?.cancel();
    throw new LatentlabError('HUB_BAD_RESPONSE', `asked ${meta.url} for bytes ${p.have}- of ${meta.path}, got status ${res.status} with Content-Range ${range}`, {
      file: meta.path, hint: `delete ${incomplete} and try again`,
    });
  }
}

async function verify(meta: FileMeta, incomplete: string, { have, hash }: Progress): Promise<void> {
  if (have !== meta.size) {
    await fsp.rm(incomplete, { force: true });
    throw new LatentlabError('HUB_DOWNLOAD_FAILED', `${meta.path}: received ${have} bytes, the Hub announced ${meta.size}`, {
      file: meta.path, hint: 'try again (the partial file was deleted); if it keeps failing, a proxy may be altering downloads',
    });
  }
  const digest = hash?.digest('hex');
  if (digest !== undefined && digest !== meta.etag) {
    await fsp.rm(incomplete, { force: true });
    throw new LatentlabError('HUB_DOWNLOAD_FAILED', `${meta.path}: the downloaded bytes have sha256 ${digest}, expected ${meta.etag}`, {
      file: meta.path, hint: 'try again (the corrupt file was deleted); if it keeps failing, a proxy may be altering downloads',
    });
  }
}

function interrupted(e: unknown, meta: FileMeta, incomplete: string, have: number, attempts: number): unknown {
  if (e instanceof LatentlabError && e.code !== 'HUB_UNREACHABLE') return e;
  const why = e instanceof LatentlabError ? e.message.split('\n')[0] : (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
  return new LatentlabError('HUB_DOWNLOAD_INTERRUPTED', `downloading ${meta.path} failed after ${attempts} attempts (${why}); ${have} of ${meta.size} bytes are kept in ${incomplete}`, {
    file: meta.path, cause: e, hint: 'run the same command again to resume where it stopped; check your connection (or use HF_HUB_OFFLINE=1 with a model downloaded before)',
  });
}

async function sizeOf(path: string): Promise<number> {
  return fsp.stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}
