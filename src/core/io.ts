// The file-system seam between the portable library and a platform.
//
// Only src/platform/* may import node:* (DESIGN.md). Everything else that needs files —
// `fromPretrained`, the safetensors reader, the tokenizer loader — goes through this
// interface; the Node platform registers its implementation when `latentlab` is imported, and a
// browser platform can later register one backed by fetch / OPFS.

import { LatentlabError } from './errors.js';

export interface FileStat {
  size: number;
  isFile: boolean;
  isDirectory: boolean;
}

/** What `writeFileAtomic` accepts: a whole file, or its bytes as a (possibly async) sequence of chunks. */
export type WriteData = Uint8Array | string | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface FileSystem {
  readText(path: string): Promise<string>;
  /** `length` bytes from `offset` (default: the whole file). Throws IO_READ if the range is past the end. */
  readBytes(path: string, offset?: number, length?: number): Promise<Uint8Array>;
  /** null when nothing exists at `path` (a dangling symlink counts as nothing). */
  stat(path: string): Promise<FileStat | null>;
  /** Names (not paths) of the entries of a folder. */
  list(dir: string): Promise<string[]>;
  /** The path with every symlink resolved. */
  realpath(path: string): Promise<string>;
  /**
   * Writes to a temporary file next to `path`, then renames it: readers never see half a file.
   * `data` may be a stream of chunks, written in order, for files too big for one buffer (a UNet is
   * 3.4 GB); if the stream throws, the temporary file is removed and the error passes through.
   */
  writeFileAtomic(path: string, data: WriteData): Promise<void>;
  mkdirp(dir: string): Promise<void>;
  join(...parts: string[]): string;
  dirname(path: string): string;
  basename(path: string): string;
  resolve(path: string): string;
}

/**
 * A folder's listing for a platform that cannot list folders (a page reading a web server):
 * `[{ "path": "unet/config.json", "size": 123 }, ...]`, in this file at the folder's root.
 */
export const FOLDER_LISTING_NAME = 'latentlab-files.json';

let current: FileSystem | undefined;

export function setFileSystem(fs: FileSystem): void {
  current = fs;
}

export function fileSystem(): FileSystem {
  if (!current) {
    throw new LatentlabError('PLATFORM_MISSING', 'no file system is registered', {
      hint: "import from 'latentlab' (the Node entry point registers one) instead of importing internal modules directly",
    });
  }
  return current;
}
