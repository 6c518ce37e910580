// Files in a browser: the FileSystem seam (core/io.ts) over mounted folders — a folder on a web
// server (read with fetch and HTTP Range requests) or a folder the user opened (File objects from
// <input type="file" webkitdirectory> or a drop). The library then opens `/models/mini` exactly as
// it opens a folder on disk in Node: `StableDiffusionPipeline.fromPretrained('/models/mini')`.
//
// A web server cannot list a folder, so a URL folder comes with its listing: a JSON file
// `latentlab-files.json` of `[{ "path": "unet/config.json", "size": 123 }, ...]` at its root
// (`latentlab explore` serves one for every model it serves; `latentlab explore --write-listing DIR`
// writes it for a static host). Writes (writeFileAtomic) go to memory: a page has no disk, and
// what the explorer saves (a PNG) it hands to the user as a download.

import { LatentlabError } from '../../core/errors.js';
import { FOLDER_LISTING_NAME, type FileStat, type FileSystem, type WriteData } from '../../core/io.js';

/** One file of a mounted folder. */
export interface WebFile {
  readonly size: number;
  /** Bytes [offset, offset + length). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface ListingEntry {
  path: string;
  size: number;
}

export const LISTING_NAME = FOLDER_LISTING_NAME;

/** POSIX-style path helpers (paths in the page are always "/"-separated). */
function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/** A file on a web server, read by HTTP Range requests (a whole-file read is one plain GET). */
export function urlFile(url: string, size: number): WebFile {
  return {
    size,
    async read(offset, length) {
      const whole = offset === 0 && length === size;
      const res = await fetch(url, whole ? {} : { headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
      if (!res.ok) {
        throw new LatentlabError('IO_READ', `GET ${url} answered ${res.status} ${res.statusText}`, {
          file: url, hint: 'check that the server still serves the model folder (and its listing is current)',
        });
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      // A server that ignores Range sends the whole file (200): take our slice of it.
      if (res.status === 200 && !whole) return bytes.subarray(offset, offset + length);
      return bytes;
    },
  };
}

/** A file the user picked or dropped. */
export function blobFile(blob: Blob): WebFile {
  return {
    size: blob.size,
    async read(offset, length) {
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

function memoryFile(bytes: Uint8Array): WebFile {
  return { size: bytes.byteLength, read: async (offset, length) => bytes.slice(offset, offset + length) };
}

async function toBytes(data: WriteData): Promise<Uint8Array> {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (data instanceof Uint8Array) return data;
  const chunks: Uint8Array[] = [];
  for await (const c of data as AsyncIterable<Uint8Array>) chunks.push(c);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The page's file system: a flat table of absolute paths, folders implied by the paths. */
export class WebFileSystem implements FileSystem {
  private readonly files = new Map<string, WebFile>();

  /** Mounts files under a folder, e.g. mount('/models/mini', { 'unet/config.json': file, ... }). */
  mount(folder: string, files: Readonly<Record<string, WebFile>> | ReadonlyMap<string, WebFile>): void {
    const entries = files instanceof Map ? [...files] : Object.entries(files);
    for (const [rel, f] of entries) this.files.set(normalize(`${folder}/${rel}`), f);
  }

  /** Mounts a folder on a web server by its listing (LISTING_NAME at `url`), as `folder`. */
  async mountUrl(folder: string, url: string): Promise<void> {
    const base = url.endsWith('/') ? url : `${url}/`;
    const listingUrl = new URL(LISTING_NAME, new URL(base, globalThis.location?.href)).href;
    const res = await fetch(listingUrl);
    if (!res.ok) {
      throw new LatentlabError('MODEL_NOT_FOUND', `model folder ${url}: its listing ${listingUrl} answered ${res.status} ${res.statusText}`, {
        file: listingUrl, hint: `serve the folder with \`latentlab explore --model DIR\`, or write the listing with \`latentlab explore --write-listing DIR\``,
      });
    }
    const listing = (await res.json()) as ListingEntry[];
    if (!Array.isArray(listing) || !listing.every((e) => typeof e?.path === 'string' && Number.isInteger(e?.size))) {
      throw new LatentlabError('MODEL_NOT_FOUND', `${listingUrl} is not a listing: expected [{ "path": string, "size": integer }, ...]`, { file: listingUrl });
    }
    const files = new Map<string, WebFile>();
    for (const e of listing) files.set(e.path, urlFile(new URL(e.path.split('/').map(encodeURIComponent).join('/'), listingUrl).href, e.size));
    this.mount(folder, files);
  }

  /** Mounts what an <input webkitdirectory> returned: each File's webkitRelativePath minus its first folder. */
  mountFileList(folder: string, list: Iterable<File>): void {
    const files = new Map<string, WebFile>();
    for (const f of list) {
      const rel = (f.webkitRelativePath || f.name).split('/');
      files.set(rel.length > 1 ? rel.slice(1).join('/') : rel[0], blobFile(f));
    }
    this.mount(folder, files);
  }

  private file(path: string): WebFile {
    const f = this.files.get(normalize(path));
    if (!f) throw new LatentlabError('IO_NOT_FOUND', `no file ${path} in the page's mounted folders`, { file: path, hint: 'open the model folder first (mountUrl / mountFileList)' });
    return f;
  }

  async readBytes(path: string, offset = 0, length?: number): Promise<Uint8Array> {
    const f = this.file(path);
    const n = length ?? f.size - offset;
    if (offset < 0 || n < 0 || offset + n > f.size) {
      throw new LatentlabError('IO_READ', `${path}: bytes ${offset}..${offset + n} are past its end (${f.size} bytes)`, { file: path });
    }
    return f.read(offset, n);
  }

  async readText(path: string): Promise<string> {
    return new TextDecoder().decode(await this.readBytes(path));
  }

  async stat(path: string): Promise<FileStat | null> {
    const p = normalize(path);
    const f = this.files.get(p);
    if (f) return { size: f.size, isFile: true, isDirectory: false };
    const prefix = p === '/' ? '/' : `${p}/`;
    for (const k of this.files.keys()) if (k.startsWith(prefix)) return { size: 0, isFile: false, isDirectory: true };
    return null;
  }

  async list(dir: string): Promise<string[]> {
    const p = normalize(dir);
    const prefix = p === '/' ? '/' : `${p}/`;
    const names = new Set<string>();
    for (const k of this.files.keys()) if (k.startsWith(prefix)) names.add(k.slice(prefix.length).split('/')[0]);
    if (names.size === 0) throw new LatentlabError('IO_NOT_FOUND', `no folder ${dir} in the page's mounted folders`, { file: dir });
    return [...names].sort();
  }

  async realpath(path: string): Promise<string> {
    return normalize(path);
  }

  async writeFileAtomic(path: string, data: WriteData): Promise<void> {
    this.files.set(normalize(path), memoryFile(await toBytes(data)));
  }

  async mkdirp(): Promise<void> {}

  join(...parts: string[]): string {
    const joined = parts.join('/');
    return parts[0]?.startsWith('/') ? normalize(joined) : normalize(joined).slice(1);
  }

  dirname(path: string): string {
    const p = normalize(path);
    return p.slice(0, p.lastIndexOf('/')) || '/';
  }

  basename(path: string): string {
    return normalize(path).split('/').pop() ?? '';
  }

  resolve(path: string): string {
    return normalize(path);
  }
}

export const webFileSystem = new WebFileSystem();
