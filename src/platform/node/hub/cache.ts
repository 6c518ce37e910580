// The Hugging Face cache layout, shared with Python's huggingface_hub (file_download.py):
//
//   <cacheDir>/models--<org>--<name>/
//     refs/<revision>                 the commit sha a branch or tag pointed to when last resolved
//     blobs/<etag>                    file contents, named by ETag: sha256 for LFS files, git sha1 otherwise
//     blobs/<etag>.incomplete         a download in progress (resumed with an HTTP Range request)
//     snapshots/<commit>/<path>       relative symlinks into blobs: unet/config.json -> ../../../blobs/<etag>
//
// A snapshot is a commit's tree with only the files someone downloaded; a blob is shared by every
// snapshot holding the same content. A relative link survives moving the whole cache folder.

import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

import { getRepoFolderName, REGEX_COMMIT_HASH } from '@huggingface/hub';

import { LatentlabError } from '../../../core/errors.js';
import { checkRepoPath } from '../../../hub/plan.js';

export { REGEX_COMMIT_HASH };

/** The folders of one model repo in the cache. */
export class RepoCache {
  /** `<cacheDir>/models--org--name` (the name @huggingface/hub and Python both use). */
  readonly root: string;

  constructor(
    readonly cacheDir: string,
    readonly repoId: string,
  ) {
    this.root = join(cacheDir, getRepoFolderName({ name: repoId, type: 'model' }));
  }

  snapshot(commit: string): string {
    return join(this.root, 'snapshots', commit);
  }

  /** snapshots/<commit>/<path>; `path` comes from the Hub, so it is checked not to escape the snapshot. */
  pointer(commit: string, path: string): string {
    checkRepoPath(path, this.repoId);
    return join(this.snapshot(commit), ...path.split('/'));
  }

  get blobs(): string {
    return join(this.root, 'blobs');
  }

  blob(etag: string): string {
    if (!/^[\w.-]+$/.test(etag) || etag.startsWith('.')) {
      throw new LatentlabError('HUB_BAD_RESPONSE', `the Hub sent the ETag ${JSON.stringify(etag)} for ${this.repoId}, which cannot name a cache file`, {
        hint: 'check HF_ENDPOINT: a proxy or mirror in between may rewrite headers',
      });
    }
    return join(this.blobs, etag);
  }

  /** The commit a revision resolves to in the cache: a full sha as is, a branch or tag via refs/. */
  async commitOf(revision: string): Promise<string | undefined> {
    if (REGEX_COMMIT_HASH.test(revision)) return revision;
    try {
      return (await fsp.readFile(join(this.root, 'refs', revision), 'utf8')).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** Records `refs/<revision>` = commit, as huggingface_hub does for any revision that is not the commit itself. */
  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit || (await this.commitOf(revision)) === commit) return;
    const ref = join(this.root, 'refs', revision);
    await fsp.mkdir(dirname(ref), { recursive: true });
    await writeAtomic(ref, commit);
  }

  /** Commits that have a snapshot folder (for hints). */
  async snapshots(): Promise<string[]> {
    return fsp.readdir(join(this.root, 'snapshots')).catch(() => []);
  }
}

/** Writes a small file through a temporary name and a rename, so readers never see half of it. */
export async function writeAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, file);
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

/**
 * Points `pointer` at `blob` with a relative symlink (`../../blobs/<etag>`, one `..` per folder level),
 * made under a temporary name and renamed into place. Where symlinks are not allowed (Windows without
 * developer mode) the blob is copied, as huggingface_hub does.
 */
export async function linkBlob(blob: string, pointer: string): Promise<void> {
  await fsp.mkdir(dirname(pointer), { recursive: true });
  const tmp = `${pointer}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    try {
      await fsp.symlink(relative(dirname(pointer), blob).split(sep).join('/'), tmp);
    } catch (e) {
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EACCES'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      await fsp.copyFile(blob, tmp);
    }
    await fsp.rename(tmp, pointer);
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

/** True when `path` exists, following symlinks (a dangling link counts as missing). */
export async function exists(path: string): Promise<boolean> {
  return fsp.stat(path).then(
    () => true,
    () => false,
  );
}

/** The files of a snapshot folder, as repo paths (`unet/config.json`); dangling links are left out. */
export async function listSnapshot(folder: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const st = await fsp.stat(full).catch(() => undefined);
      if (st?.isDirectory()) await walk(full, `${prefix}${entry.name}/`);
      else if (st?.isFile()) out.push(`${prefix}${entry.name}`);
    }
  };
  await walk(folder, '');
  return out.sort();
}
