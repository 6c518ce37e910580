// The static server behind `latentlab explore`: the built explorer at /, one diffusers folder at
// /model/ with its listing (latentlab-files.json, what the page's FileSystem mounts), HTTP Range
// for the weights, and the two headers that make the page cross-origin isolated (COOP same-origin,
// COEP require-corp) so onnxruntime-web can use WebAssembly threads. It binds to loopback unless
// told otherwise: it serves files from your disk.

import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, relative, resolve, sep } from 'node:path';

import { FOLDER_LISTING_NAME as LISTING_NAME, LatentlabError } from '../node.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml', '.txt': 'text/plain; charset=utf-8',
};

/** Every file below `dir` (symlinks followed, as in the Hugging Face cache), with its size; dot-files skipped. */
export async function folderListing(dir: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      if (name.startsWith('.') || name === LISTING_NAME) continue;
      const p = join(d, name);
      const st = await stat(p).catch(() => undefined);
      if (st?.isDirectory()) await walk(p);
      else if (st?.isFile()) out.push({ path: relative(dir, p).split(sep).join('/'), size: st.size });
    }
  };
  await walk(dir);
  return out;
}

export interface ExploreServerOptions {
  /** The built explorer (index.html, main.js, ort/). */
  explorerDir: string;
  /** The diffusers folder served at /model/. */
  modelDir: string;
  host?: string;
  /** 0: any free port. */
  port?: number;
}

export interface ExploreServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** The file a URL path names under `root`, or undefined when it leaves it. */
function inside(root: string, urlPath: string): string | undefined {
  const file = resolve(root, `.${urlPath}`);
  return file === root || file.startsWith(root + sep) ? file : undefined;
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${req.url}\n`);
  const headers: Record<string, string | number> = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'accept-ranges': 'bytes' };
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  let [start, end] = [0, st.size - 1];
  if (range) {
    start = Number(range[1]);
    end = range[2] ? Math.min(Number(range[2]), st.size - 1) : st.size - 1;
    if (start > end) return void res.writeHead(416, { 'content-range': `bytes */${st.size}` }).end();
    headers['content-range'] = `bytes ${start}-${end}/${st.size}`;
  }
  headers['content-length'] = st.size === 0 ? 0 : end - start + 1;
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD' || st.size === 0) return void res.end();
  createReadStream(file, { start, end }).on('error', () => res.destroy()).pipe(res);
}

export async function startExploreServer(options: ExploreServerOptions): Promise<ExploreServer> {
  const explorerDir = resolve(options.explorerDir);
  const modelDir = resolve(options.modelDir);
  if (!(await stat(join(modelDir, 'model_index.json')).catch(() => undefined))?.isFile()) {
    throw new LatentlabError('MODEL_NOT_FOUND', `${modelDir} has no model_index.json; expected a diffusers pipeline folder`, {
      file: modelDir, hint: 'pass --model with the folder that holds model_index.json (a Hub snapshot works too)',
    });
  }
  const server = createServer((req, res) => {
    // Cross-origin isolation: SharedArrayBuffer, hence WebAssembly threads, in the page.
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    res.setHeader('cross-origin-embedder-policy', 'require-corp');
    res.setHeader('cross-origin-resource-policy', 'same-origin');
    res.setHeader('cache-control', 'no-cache');
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405).end();
    void (async () => {
      if (path === `/model/${LISTING_NAME}`) {
        const body = JSON.stringify(await folderListing(modelDir));
        return void res.writeHead(200, { 'content-type': TYPES['.json'] }).end(body);
      }
      const file = path.startsWith('/model/') ? inside(modelDir, path.slice('/model'.length)) : inside(explorerDir, path.endsWith('/') ? `${path}index.html` : path);
      if (!file) return void res.writeHead(403).end();
      await sendFile(req, res, file);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 8777, options.host ?? '127.0.0.1', () => ok());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/`,
    server,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}
