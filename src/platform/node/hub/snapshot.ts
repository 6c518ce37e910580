// What a local snapshot folder holds, and what it lacks for a pipeline: model_index.json, the files
// ./select.ts chooses from the folder's own listing, the non-weight files every component needs, and
// the shards that each chosen `*.safetensors.index*.json` names. Used offline (to say exactly which
// files are missing) and after a download (to check that the repo was complete).

import * as fsp from 'node:fs/promises';
import { join } from 'node:path';

import { parseModelIndex, readConfigFile, type ModelIndex } from '../../../weights/diffusers.js';
import { listSnapshot } from './cache.js';
import { shardsFromIndex } from '../../../hub/plan.js';
import { selectPipelineFiles, type SelectOptions, type Selection } from '../../../hub/select.js';

export interface SnapshotCheck {
  /** Repo paths of every file the pipeline uses that the folder has (shards included). */
  readonly present: readonly string[];
  /** Repo paths the pipeline needs that the folder lacks, sorted. */
  readonly missing: readonly string[];
  /** Undefined when model_index.json itself is missing. */
  readonly selection?: Selection;
}

export async function readModelIndex(folder: string): Promise<ModelIndex> {
  const file = join(folder, 'model_index.json');
  return parseModelIndex(await readConfigFile(file), file);
}

/** The shard files (repo paths) named by the weight_map of a local `<component>/<index>.json`. */
export async function shardsOf(folder: string, indexPath: string, repoId: string): Promise<string[]> {
  const file = join(folder, ...indexPath.split('/'));
  return shardsFromIndex(await fsp.readFile(file, 'utf8'), indexPath, file, repoId);
}

/** Checks `folder` (a snapshot) against what the pipeline needs; see the header. */
export async function checkSnapshot(folder: string, repoId: string, options: SelectOptions): Promise<SnapshotCheck> {
  const listing = await listSnapshot(folder).catch(() => [] as string[]);
  const has = new Set(listing);
  if (!has.has('model_index.json')) return { present: [], missing: ['model_index.json'] };
  const selection = selectPipelineFiles(listing, await readModelIndex(folder), options);
  const needed = new Set([...selection.files, ...selection.required]);
  for (const w of selection.weights) {
    // No usable weights here (or, with a variant, no component has it): the file a download would bring.
    if (!w.file || !selection.variantFound) needed.add(w.expected);
    else if (w.sharded) for (const s of await shardsOf(folder, `${w.component}/${w.file}`, repoId)) needed.add(s);
  }
  const all = [...needed].sort();
  return { present: all.filter((f) => has.has(f)), missing: all.filter((f) => !has.has(f)), selection };
}
