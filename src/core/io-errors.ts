// File-system failures as LatentlabErrors. Node (and other platforms) report them with POSIX codes
// (`EISDIR`, `EACCES`, …); this turns each into a coded error that says what was wrong with which
// path and what to do, so no file problem ever reaches the user as an "internal error". One table,
// used by the platform's FileSystem, the image reader and the CLI's own reads and writes.

import { LatentlabError } from './errors.js';

interface Kind {
  code: string;
  /** What is wrong with the path, after "<path>: ". */
  says: string;
  hint: string;
}

const KINDS: Record<string, Kind> = {
  ENOENT: { code: 'IO_NOT_FOUND', says: 'no such file', hint: 'check the path (relative paths start at the current folder)' },
  EISDIR: { code: 'IO_IS_FOLDER', says: 'is a folder, not a file', hint: 'pass the path of a file inside it' },
  ENOTDIR: { code: 'IO_NOT_FOLDER', says: 'a part of the path is a file, not a folder', hint: 'check the path' },
  EACCES: { code: 'IO_PERMISSION', says: 'permission denied', hint: 'check the permissions of the file and its folder (ls -l), or choose another path' },
  EPERM: { code: 'IO_PERMISSION', says: 'operation not permitted', hint: 'check the permissions of the file and its folder (ls -l), or choose another path' },
  EROFS: { code: 'IO_READ_ONLY', says: 'the file system is read-only', hint: 'choose a path on a writable disk' },
  ENOSPC: { code: 'IO_NO_SPACE', says: 'the disk is full', hint: 'free some space (df -h shows where) or choose another disk' },
  EDQUOT: { code: 'IO_NO_SPACE', says: 'the disk quota is exhausted', hint: 'free some space or choose another disk' },
  EMFILE: { code: 'IO_TOO_MANY_FILES', says: 'too many open files', hint: 'raise the limit (ulimit -n) or close other programs' },
  ENFILE: { code: 'IO_TOO_MANY_FILES', says: 'too many open files on the system', hint: 'close other programs and try again' },
  ENAMETOOLONG: { code: 'IO_NAME_TOO_LONG', says: 'the name is too long', hint: 'choose a shorter path' },
  ELOOP: { code: 'IO_LINK_LOOP', says: 'too many symbolic links (a link loop)', hint: 'check where the links point (ls -l, realpath)' },
  EIO: { code: 'IO_DEVICE', says: 'an input/output error from the disk', hint: 'check the disk (dmesg); copy the file elsewhere and retry' },
  EBUSY: { code: 'IO_BUSY', says: 'the file is busy', hint: 'close the program that holds it and retry' },
  EEXIST: { code: 'IO_EXISTS', says: 'already exists', hint: 'choose another name' },
};

/** The POSIX code of a platform error (`EISDIR`), if it has one. */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/**
 * A LatentlabError for a failed file operation on `path` ("reading" / "writing"), or `e` itself
 * when it already is one. `label` names where the path came from ("--image"), for the message.
 */
export function ioError(e: unknown, path: string, action: 'read' | 'write', label?: string): LatentlabError {
  if (e instanceof LatentlabError) return e;
  const errno = errnoCode(e);
  const kind = errno ? KINDS[errno] : undefined;
  const where = label ? `${label} ${path}` : path;
  if (kind) return new LatentlabError(kind.code, `${where}: ${kind.says} (cannot ${action} it)`, { file: path, hint: kind.hint, cause: e });
  const message = e instanceof Error ? e.message : String(e);
  return new LatentlabError(action === 'read' ? 'IO_READ' : 'IO_WRITE', `${where}: cannot ${action} it: ${message}`, { file: path, cause: e });
}
