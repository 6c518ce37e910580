// The online path: resolve the revision to a commit, decide the file list from the repo listing,
// and bring the missing files into the cache (huggingface_hub's `snapshot_download` restricted to
// what a Stable Diffusion pipeline loads).
//
//   1. model info at the revision (@huggingface/hub `modelInfo`): the commit sha and the `siblings` list
//   2. refs/<revision> = commit; model_index.json
//   3. the files ./select.ts picks; then the shard indexes, whose weight_map adds the shards
//   4. a HEAD per missing file (etag, size, CDN URL), then the downloads (./download.ts)
//
// Files already in snapshots/<commit>/ are not asked about again: a commit never changes.

import * as fsp from 'node:fs/promises';

import { modelInfo } from '@huggingface/hub';

import { LatentlabError } from '../../../core/errors.js';
import { exists, linkBlob, REGEX_COMMIT_HASH, type RepoCache } from './cache.js';
import { downloadBlob } from './download.js';
import type { FileMeta, HubClient } from '../../../hub/http.js';
import type { HubProgressCallback } from '../../../hub/progress.js';
import { checkListed, checkSelection, notAPipeline } from '../../../hub/plan.js';
import { selectPipelineFiles, type SelectOptions } from '../../../hub/select.js';
import { checkSnapshot, readModelIndex, shardsOf } from './snapshot.js';

export interface FetchResult {
  readonly folder: string;
  readonly commit: string;
  readonly files: readonly string[];
  readonly downloadedBytes: number;
}

export async function fetchPipeline(client: HubClient, cache: RepoCache, options: SelectOptions, emit: HubProgressCallback): Promise<FetchResult> {
  const { repoId, revision, settings } = client.ctx;
  const info = await modelInfo({ name: repoId, revision, hubUrl: settings.endpoint, fetch: client.fetch, additionalFields: ['sha', 'filePaths'] });
  const commit = info.sha;
  if (typeof commit !== 'string' || !REGEX_COMMIT_HASH.test(commit) || !Array.isArray(info.filePaths)) {
    throw new LatentlabError('HUB_BAD_RESPONSE', `the model info of ${repoId} at ${revision} has no commit sha or file list`, {
      hint: `${settings.endpoint} does not answer like the Hugging Face Hub: check HF_ENDPOINT`,
    });
  }
  const listing = info.filePaths;
  await cache.writeRef(revision, commit);
  const folder = cache.snapshot(commit);
  const fetchSmall = async (path: string) => fetchFile(client, cache, commit, path, undefined, () => {});
  if (!listing.includes('model_index.json')) throw notAPipeline(repoId, revision, listing);
  await fetchSmall('model_index.json');

  const selection = selectPipelineFiles(listing, await readModelIndex(folder), options);
  checkSelection(selection, repoId, options.variant, listing, emit);
  const files = new Set(selection.files);
  for (const w of selection.weights) {
    if (!w.sharded) continue;
    const index = `${w.component}/${w.file}`;
    await fetchSmall(index);
    for (const shard of await shardsOf(folder, index, repoId)) files.add(shard);
  }
  checkListed([...files, ...selection.required], listing, repoId, revision, commit);

  const plan: FileMeta[] = [];
  for (const path of [...files].sort()) if (!(await exists(cache.pointer(commit, path)))) plan.push(await client.fileMeta(commit, path));
  const totalBytes = plan.reduce((n, m) => n + m.size, 0);
  emit({ type: 'plan', repoId, revision, commit, files: [...files].sort(), download: plan.map((m) => ({ path: m.path, size: m.size })), totalBytes });
  let doneBytes = 0;
  for (const meta of plan) {
    await fetchFile(client, cache, commit, meta.path, meta, (fileBytes) =>
      emit({ type: 'download', path: meta.path, fileBytes, fileSize: meta.size, doneBytes: doneBytes + fileBytes, totalBytes }),
    );
    doneBytes += meta.size;
    emit({ type: 'file-done', path: meta.path, size: meta.size });
  }
  const check = await checkSnapshot(folder, repoId, options);
  if (check.missing.length > 0) {
    throw new LatentlabError('HUB_REPO_INCOMPLETE', `${folder} still lacks ${check.missing.join(', ')} after downloading ${repoId}`, {
      hint: 'the repo does not hold a complete pipeline for these options: choose another revision, variant or model',
    });
  }
  return { folder, commit, files: check.present, downloadedBytes: doneBytes };
}

/** One file into snapshots/<commit>/<path>: reuse the pointer or the blob if present, else download. */
async function fetchFile(client: HubClient, cache: RepoCache, commit: string, path: string, known: FileMeta | undefined, onBytes: (n: number) => void): Promise<void> {
  const pointer = cache.pointer(commit, path);
  if (await exists(pointer)) return;
  const meta = known ?? (await client.fileMeta(commit, path));
  const blob = cache.blob(meta.etag);
  const st = await fsp.stat(blob).catch(() => undefined);
  if (st && st.size !== meta.size) {
    throw new LatentlabError('HUB_CACHE_CORRUPT', `${blob} (${path} of ${client.ctx.repoId}) has ${st.size} bytes, the Hub says ${meta.size}`, {
      file: blob, hint: `delete ${blob} and run again to download it afresh`,
    });
  }
  await fsp.mkdir(cache.blobs, { recursive: true });
  if (!st) await downloadBlob(client, meta, blob, onBytes);
  await linkBlob(blob, pointer);
}
