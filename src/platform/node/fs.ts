// The Node implementation of core/io's FileSystem.

import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

import { LatentlabError } from '../../core/errors.js';
import type { FileStat, FileSystem } from '../../core/io.js';
import { ioError } from '../../core/io-errors.js';

async function readBytes(file: string, offset = 0, length?: number): Promise<Uint8Array> {
  try {
    return await readRange(file, offset, length);
  } catch (e) {
    throw ioError(e, file, 'read'); // EISDIR (a folder opens fine, then read() fails), EACCES, EIO, …
  }
}

async function readRange(file: string, offset: number, length?: number): Promise<Uint8Array> {
  const handle = await fsp.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const n = length ?? size - offset;
    if (offset < 0 || n < 0 || offset + n > size) {
      throw new LatentlabError('IO_READ', `${file}: cannot read ${n} bytes at offset ${offset}: the file has ${size} bytes`, { file });
    }
    const out = new Uint8Array(n);
    let done = 0;
    // read() may return fewer bytes than asked (and never more than 2 GiB at once).
    while (done < n) {
      const { bytesRead } = await handle.read(out, done, Math.min(n - done, 1 << 30), offset + done);
      if (bytesRead === 0) throw new LatentlabError('IO_READ', `${file}: unexpected end of file at byte ${offset + done}`, { file });
      done += bytesRead;
    }
    return out;
  } finally {
    await handle.close();
  }
}

// Streams chunks to a new file; write() may write fewer bytes than asked (and at most 2 GiB at once).
async function writeChunks(file: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
  const handle = await fsp.open(file, 'w');
  try {
    for await (const chunk of chunks) {
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, done, Math.min(chunk.byteLength - done, 1 << 30));
        done += bytesWritten;
      }
    }
  } finally {
    await handle.close();
  }
}

export const nodeFileSystem: FileSystem = {
  async readText(file) {
    try {
      return await fsp.readFile(file, 'utf8');
    } catch (e) {
      throw ioError(e, file, 'read');
    }
  },
  readBytes,
  async stat(file): Promise<FileStat | null> {
    try {
      const s = await fsp.stat(file);
      return { size: s.size, isFile: s.isFile(), isDirectory: s.isDirectory() };
    } catch {
      return null;
    }
  },
  async list(dir) {
    try {
      return await fsp.readdir(dir);
    } catch (e) {
      throw ioError(e, dir, 'read');
    }
  },
  async realpath(file) {
    try {
      return await fsp.realpath(file);
    } catch (e) {
      throw ioError(e, file, 'read');
    }
  },
  async writeFileAtomic(file, data) {
    const dir = path.dirname(file);
    const st = await fsp.stat(dir).catch(() => null);
    if (!st?.isDirectory()) {
      throw new LatentlabError('IO_NO_FOLDER', `cannot write ${file}: the folder ${dir} does not exist`, {
        file, hint: `create it first (mkdir -p ${dir}) or choose another output path`,
      });
    }
    const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      // One writeFile() call fails above 2 GiB; chunked writes do not.
      if (typeof data === 'string') await fsp.writeFile(tmp, data);
      else await writeChunks(tmp, data instanceof Uint8Array ? [data] : data);
      await fsp.rename(tmp, file);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      // An error raised by the producer of the chunks (a bad tensor, say) is the real cause: keep it.
      throw ioError(e, file, 'write');
    }
  },
  async mkdirp(dir) {
    await fsp.mkdir(dir, { recursive: true });
  },
  join: (...parts) => path.join(...parts),
  dirname: (p) => path.dirname(p),
  basename: (p) => path.basename(p),
  resolve: (p) => path.resolve(p),
};
