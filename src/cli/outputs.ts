// Where the command writes, decided before any compute, and how it writes.
//
// The naming rule (docs/cli.md, "Output files"):
//
//   --out FILE.png     one image: FILE.png exactly; several: FILE-0.png, FILE-1.png, … (batch order).
//                      A name you typed is never silently changed: if a file of that name exists the
//                      command stops before loading the model, unless you pass --overwrite.
//   --out DIR/         (or an existing folder, or no --out at all: the current folder) numbered like
//                      AUTOMATIC1111's outputs: 00007-<seed>.png, 00008-<seed>.png, … — the next free
//                      numbers, so a run never overwrites an earlier one, as A1111 and ComfyUI users expect.
//
// Files are written atomically: the bytes go to a hidden temporary file in the same folder, which is
// then hard-linked to its final name (link fails if the name was taken meanwhile — no clobbering even
// in a race) or renamed over it with --overwrite. A crash or Ctrl-C never leaves half a file.

import { randomBytes } from 'node:crypto';
import { link, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';

import { ioError, LatentlabError } from '../node.js';
import { flagError } from './errors.js';

/** How a target may be written: a new file only, replacing an existing one, or the next free number. */
export type WritePolicy = 'new' | 'overwrite' | 'numbered';

export interface Target {
  path: string;
  policy: WritePolicy;
  /** For numbered targets: the suffix after the number ("-42.png"). */
  suffix?: string;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** The folder of an output path must exist and take new files (checked before any compute). */
export async function checkFolder(flag: string, path: string): Promise<void> {
  const dir = dirname(resolve(path));
  if (!(await isDirectory(dir))) {
    throw new LatentlabError('IO_NO_FOLDER', `${flag} ${path}: the folder ${dir} does not exist`, {
      file: path, hint: `create it first (mkdir -p ${JSON.stringify(dir)}) or choose another output path`,
    });
  }
  await checkWritable(flag, dir);
}

/**
 * Can files be created in `dir`? Asked by creating (and removing) an empty hidden file, the one test
 * that also sees read-only mounts, ACLs and root-squashed network folders, where the permission
 * bits (fs.access) tell nothing. Before the model loads, so a minute of compute is never lost on it.
 */
export async function checkWritable(flag: string, dir: string): Promise<void> {
  if (writable.has(dir)) return; // once per folder: a batch of 100000 names one folder 100000 times
  const probe = join(dir, `.latentlab-write-test-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(probe, '', { flag: 'wx' });
  } catch (e) {
    const cause = ioError(e, dir, 'write');
    throw new LatentlabError(cause.code, `${flag}: cannot create files in the folder ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      file: dir, hint: cause.hint ?? 'choose another output folder', cause: e,
    });
  }
  await rm(probe, { force: true });
  writable.add(dir);
}

const writable = new Set<string>();

function checkExtension(flag: string, path: string, extensions: readonly string[]): void {
  if (!extensions.includes(extname(path).toLowerCase())) {
    throw flagError(flag, path, `a file name ending in ${extensions.join(' or ')}`);
  }
}

/** An explicitly named output file: right extension, existing folder, not taken (unless overwriting). */
export async function explicitTarget(flag: string, path: string, extensions: readonly string[], overwrite: boolean): Promise<Target> {
  checkExtension(flag, path, extensions);
  if (await isDirectory(path)) throw flagError(flag, path, `a file name ending in ${extensions.join(' or ')}, not a folder`);
  await checkFolder(flag, path);
  if (!overwrite && (await exists(path))) {
    throw new LatentlabError('CLI_OUTPUT_EXISTS', `${flag} ${path}: the file already exists`, {
      file: path, hint: 'pass --overwrite to replace it, choose another name, or give a folder (--out DIR/) to get the next free numbered names',
    });
  }
  return { path, policy: overwrite ? 'overwrite' : 'new' };
}

/** The largest leading number of `NNNNN-…` files in a folder (−1 when there are none). */
async function lastNumber(dir: string): Promise<number> {
  let last = -1;
  for (const name of await readdir(dir)) {
    const m = /^(\d{5,})-/.exec(name);
    if (m) last = Math.max(last, Number(m[1]));
  }
  return last;
}

const numbered = (dir: string, n: number, suffix: string) => join(dir, `${String(n).padStart(5, '0')}${suffix}`);

/**
 * Paths for `count` images in batch order, by the naming rule above. `tag` (the seed) goes into
 * numbered names, as A1111's `[number]-[seed]`.
 */
export async function imageTargets(flag: string, out: string | undefined, count: number, tag: string, overwrite: boolean): Promise<Target[]> {
  const folder = out === undefined ? '.' : out.endsWith('/') || out.endsWith(sep) || (await isDirectory(out)) ? out : undefined;
  if (folder !== undefined) {
    if (!(await isDirectory(folder))) {
      throw new LatentlabError('IO_NO_FOLDER', `${flag} ${out}: the folder ${resolve(folder)} does not exist`, {
        file: folder, hint: `create it first (mkdir -p ${JSON.stringify(resolve(folder))}) or choose another output path`,
      });
    }
    await checkWritable(flag, resolve(folder));
    const suffix = `-${tag}.png`;
    const first = (await lastNumber(folder)) + 1;
    return Array.from({ length: count }, (_, i) => ({ path: numbered(folder, first + i, suffix), policy: 'numbered' as const, suffix }));
  }
  const path = out!;
  checkExtension(flag, path, ['.png']);
  if (count === 1) return [await explicitTarget(flag, path, ['.png'], overwrite)];
  const stem = path.slice(0, path.length - extname(path).length);
  const targets: Target[] = [];
  for (let i = 0; i < count; i++) targets.push(await explicitTarget(flag, `${stem}-${i}${extname(path)}`, ['.png'], overwrite));
  return targets;
}

function writeError(path: string, e: unknown): LatentlabError {
  return ioError(e, path, 'write');
}

/** Links tmp to path; false when the name is taken. Falls back to rename on file systems without hard links. */
async function linkNew(tmp: string, path: string): Promise<boolean> {
  try {
    await link(tmp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw e;
    if (await exists(path)) return false;
    await rename(tmp, path);
    return true;
  }
}

/** Writes `data` to the target atomically (see the header); returns the path actually written. */
export async function writeTarget(target: Target, data: Uint8Array | string): Promise<string> {
  const dir = dirname(target.path);
  const tmp = join(dir, `.${basename(target.path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    if (target.policy === 'overwrite') {
      await rename(tmp, target.path);
      return target.path;
    }
    let path = target.path;
    while (!(await linkNew(tmp, path))) {
      if (target.policy === 'new') {
        throw new LatentlabError('CLI_OUTPUT_EXISTS', `${path}: the file appeared while latentlab was working; it was left untouched`, {
          file: path, hint: 'pass --overwrite to replace it, or choose another name',
        });
      }
      path = numbered(dir, (await lastNumber(dir)) + 1, target.suffix ?? '.png');
    }
    return path;
  } catch (e) {
    throw writeError(target.path, e);
  } finally {
    await rm(tmp, { force: true });
  }
}
