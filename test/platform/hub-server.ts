// A local imitation of the Hugging Face Hub endpoints latentlab's Hub client uses, on 127.0.0.1
// with random ports, so the tests never touch the network:
//
//   GET  /api/models/{org}/{name}/revision/{rev}   model info: {id, sha, siblings: [{rfilename}], gated, ...}
//   HEAD/GET /{org}/{name}/resolve/{rev}/{path}    small files: 200 + ETag (git sha1) + Content-Length;
//                                                  LFS files: 302 to the "CDN" + X-Linked-Etag (sha256),
//                                                  X-Linked-Size; always X-Repo-Commit
//   GET  {cdn}/lfs/{sha256}                        the LFS bytes, on a second server (another origin)
//
// Errors as the Hub sends them: 401 + X-Error-Code RepoNotFound for a missing or private repo without a
// token (404 with one), 401/403 + GatedRepo for a gated repo's files, 404 RevisionNotFound /
// EntryNotFound. Range requests are honoured everywhere; `cutOnce` / `cutAlways` make the next download
// of a file stop mid-way by destroying the socket, `expireOnce` refuses a CDN link once. Every request
// is recorded. Both servers answer pages of another origin as huggingface.co does (CORS: any origin,
// the Hub's headers exposed, preflights answered), so the browser tests can use them too.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const GOOD_TOKEN = 'hf_good_token_for_tests';

export interface FakeRepo {
  readonly id: string;
  /** commit sha -> files (repo path -> bytes). */
  readonly commits: Record<string, Record<string, Buffer>>;
  /** branch or tag -> commit sha. */
  readonly refs: Record<string, string>;
  readonly gated?: boolean;
  readonly private?: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly server: 'hub' | 'cdn';
  /** Decoded URL path without the query. */
  readonly path: string;
  /** For resolve and CDN requests: the repo file asked for. */
  readonly file?: string;
  readonly range?: string;
  readonly auth?: string;
}

const LFS = /\.(safetensors|bin|ckpt|msgpack|onnx|pt)$/;

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** What `git hash-object` gives: the Hub's ETag for a file not stored with LFS. */
export const gitSha1 = (b: Buffer): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
export const fakeCommit = (seed: string): string => createHash('sha1').update(seed).digest('hex');

/** Every file under `dir`, as repo paths. */
export function readTree(dir: string, prefix = ''): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) Object.assign(out, readTree(full, `${prefix}${name}/`));
    else out[`${prefix}${name}`] = readFileSync(full);
  }
  return out;
}

export class FakeHub {
  readonly requests: RecordedRequest[] = [];
  /** Repo paths whose next CDN/resolve download is cut mid-way (once each). */
  readonly cutOnce = new Set<string>();
  /** Repo paths whose every download is cut mid-way. */
  readonly cutAlways = new Set<string>();
  /** Repo paths whose next CDN request is refused with 403, as an expired signed link is. */
  readonly expireOnce = new Set<string>();
  private readonly blobs = new Map<string, { file: string; data: Buffer }>();
  endpoint = '';
  private cdn = '';

  private constructor(
    private readonly repos: Map<string, FakeRepo>,
    private readonly servers: Server[],
  ) {}

  static async start(repos: readonly FakeRepo[]): Promise<FakeHub> {
    const hub: FakeHub = new FakeHub(new Map(repos.map((r) => [r.id, r])), []);
    const hubServer = createServer((req, res) => hub.handleHub(req, res));
    const cdnServer = createServer((req, res) => hub.handleCdn(req, res));
    hub.servers.push(hubServer, cdnServer);
    hub.endpoint = await listen(hubServer);
    hub.cdn = await listen(cdnServer);
    return hub;
  }

  async close(): Promise<void> {
    for (const s of this.servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }

  /** Files requested through resolve (HEAD and GET), e.g. to check that no fp16 file was asked for. */
  resolved(method?: string): string[] {
    return this.requests.filter((r) => r.file && r.server === 'hub' && (!method || r.method === method)).map((r) => r.file!);
  }

  /** Files whose bytes were downloaded (GET on a small file, or on the CDN). */
  downloaded(): string[] {
    return this.requests.filter((r) => r.method === 'GET' && r.file && (r.server === 'cdn' || !LFS.test(r.file))).map((r) => r.file!);
  }

  private handleHub(req: IncomingMessage, res: ServerResponse): void {
    if (cors(req, res)) return;
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    const auth = req.headers.authorization;
    const token = auth?.replace(/^Bearer /, '');
    const info = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/(.+?)\/(.+)$/.exec(path);
    const fileOf = resolve?.[3];
    this.requests.push({ method: req.method!, server: 'hub', path, file: fileOf, range: req.headers.range, auth });
    const m = info ?? resolve;
    if (!m) return error(res, 404, '', 'Not found');
    const repo = this.repos.get(m[1]);
    if (!repo || (repo.private && token !== GOOD_TOKEN)) return error(res, token ? 404 : 401, 'RepoNotFound', 'Repository not found');
    const commit = /^[0-9a-f]{40}$/.test(m[2]) && repo.commits[m[2]] ? m[2] : repo.refs[m[2]];
    if (!commit) return error(res, 404, 'RevisionNotFound', `Invalid rev id: ${m[2]}`);
    const files = repo.commits[commit];
    if (info) {
      return json(res, 200, { _id: `id-${repo.id}`, id: repo.id, sha: commit, private: !!repo.private, gated: repo.gated ? 'manual' : false, downloads: 0, likes: 0, lastModified: '2024-01-01T00:00:00.000Z', siblings: Object.keys(files).map((rfilename) => ({ rfilename })) });
    }
    if (repo.gated && token !== GOOD_TOKEN) return error(res, token ? 403 : 401, 'GatedRepo', `Access to model ${repo.id} is restricted.`);
    const data = files[fileOf!];
    if (!data) return error(res, 404, 'EntryNotFound', `${fileOf} does not exist on "${m[2]}"`);
    res.setHeader('X-Repo-Commit', commit);
    if (LFS.test(fileOf!)) {
      const digest = sha256(data);
      this.blobs.set(digest, { file: fileOf!, data });
      res.writeHead(302, { Location: `${this.cdn}/lfs/${digest}?file=${encodeURIComponent(fileOf!)}`, 'X-Linked-Etag': `"${digest}"`, 'X-Linked-Size': String(data.length), ETag: `"${gitSha1(Buffer.from(digest))}"`, 'Content-Length': '0' });
      return void res.end();
    }
    this.serveBytes(req, res, fileOf!, data, `"${gitSha1(data)}"`);
  }

  private handleCdn(req: IncomingMessage, res: ServerResponse): void {
    if (cors(req, res)) return;
    const path = new URL(req.url!, 'http://x').pathname;
    const blob = this.blobs.get(path.replace(/^\/lfs\//, ''));
    this.requests.push({ method: req.method!, server: 'cdn', path, file: blob?.file, range: req.headers.range, auth: req.headers.authorization });
    if (!blob) return error(res, 404, '', 'no such blob');
    if (this.expireOnce.delete(blob.file)) return error(res, 403, '', 'Request has expired');
    this.serveBytes(req, res, blob.file, blob.data, `"${sha256(blob.data)}"`);
  }

  /** 200 or 206 (Range), or a body cut after half of what was announced. */
  private serveBytes(req: IncomingMessage, res: ServerResponse, file: string, data: Buffer, etag: string): void {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] ? Number(m[2]) + 1 : data.length;
    if (start >= data.length && data.length > 0) {
      res.writeHead(416, { 'Content-Range': `bytes */${data.length}` });
      return void res.end();
    }
    const body = data.subarray(start, end);
    const headers = { ETag: etag, 'Accept-Ranges': 'bytes', 'Content-Length': String(body.length), 'Content-Type': 'application/octet-stream' };
    res.writeHead(m ? 206 : 200, m ? { ...headers, 'Content-Range': `bytes ${start}-${end - 1}/${data.length}` } : headers);
    if (req.method === 'HEAD') return void res.end();
    const cut = this.cutAlways.has(file) || this.cutOnce.delete(file);
    if (!cut) return void res.end(body);
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => res.socket?.destroy(), 20));
  }
}

/** CORS headers on every answer; true when this was a preflight (answered here). */
function cors(req: IncomingMessage, res: ServerResponse): boolean {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', 'X-Repo-Commit, X-Linked-Etag, X-Linked-Size, ETag, X-Error-Code, X-Error-Message, Content-Range, Accept-Ranges, Content-Length');
  if (req.method !== 'OPTIONS') return false;
  res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': 'authorization, range, content-type, user-agent', 'Access-Control-Max-Age': '600' });
  res.end();
  return true;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  json(res, status, { error: message }, code ? { 'X-Error-Code': code, 'X-Error-Message': message } : {});
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
