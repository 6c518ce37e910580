// The checks of a Hub download that need no file system, shared by the Node client
// (platform/node/hub) and the web one (platform/web/hub.ts): a listed path may not climb out of its
// snapshot, a repo without model_index.json is not a pipeline, what ./select.ts chose becomes
// errors (nothing usable) or warnings (a variant fell back), and a shard index names its shards.

import { LatentlabError } from '../core/errors.js';
import { JsonSyntaxError, parseJson } from '../weights/pyjson.js';
import type { HubProgressCallback } from './progress.js';
import type { Selection } from './select.js';

/** True when `path` could leave the folder it is joined to: absolute, a backslash, or an empty, `.` or `..` segment. */
function escapesFolder(path: string): boolean {
  return path.startsWith('/') || path.includes('\\') || path.split('/').some((p) => p === '' || p === '.' || p === '..');
}

/** Rejects absolute paths, `..` and empty segments in a repo path (huggingface_hub#4540). */
export function checkRepoPath(path: string, repoId: string): void {
  if (escapesFolder(path)) {
    throw new LatentlabError('HUB_BAD_RESPONSE', `the repo ${repoId} lists the file ${JSON.stringify(path)}, which would be written outside its snapshot folder`, {
      hint: 'refusing to download it; report the repo to its owner',
    });
  }
}

/**
 * The shard files (repo paths) named by the weight_map of `<component>/<index>.json`, given its text;
 * `file` names it in errors (a local path, or a URL in a browser).
 */
export function shardsFromIndex(text: string, indexPath: string, file: string, repoId: string): string[] {
  const component = indexPath.split('/')[0];
  let raw: unknown;
  try {
    raw = parseJson(text, { nonFinite: true });
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    raw = undefined;
  }
  const map = (raw as { weight_map?: unknown } | undefined)?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map) || !Object.values(map).every((v) => typeof v === 'string')) {
    throw new LatentlabError('WEIGHTS_BAD_INDEX', `${file}: expected {"weight_map": {tensor name: shard file}}`, {
      file, hint: `the file is corrupt: delete it and download ${repoId} again`,
    });
  }
  const shards = [...new Set(Object.values(map as Record<string, string>))].map((s) => `${component}/${s}`);
  for (const s of shards) checkRepoPath(s, repoId);
  return shards.sort();
}

/** Turns what the selection found into errors (nothing usable) or warnings (variant fallback). */
export function checkSelection(selection: Selection, repoId: string, variant: string | undefined, listing: readonly string[], emit: HubProgressCallback): void {
  const variants = variantsIn(listing);
  if (!selection.variantFound) {
    throw new LatentlabError('HUB_VARIANT_NOT_FOUND', `${repoId} has no "${variant}" weights in any component (safetensors variants found: ${variants.join(', ') || 'none'})`, {
      key: 'variant', hint: variants.length > 0 ? `use one of: ${variants.map((v) => (v === 'default' ? 'no variant' : `variant "${v}"`)).join(', ')}` : 'this repo has no safetensors weights',
    });
  }
  for (const w of selection.weights) {
    if (w.fellBack) emit({ type: 'warning', message: `${repoId}: ${w.component} has no "${variant}" weights; using its default weights (${w.component}/${w.file}), as diffusers does` });
    if (w.file) continue;
    const safetensors = w.unusable.filter((n) => n.includes('.safetensors'));
    if (safetensors.length > 0) {
      throw new LatentlabError('HUB_VARIANT_NOT_FOUND', `${repoId}: ${w.component} has no ${variant ? `"${variant}"` : 'default (non-variant)'} weights, only ${safetensors.join(', ')}`, {
        key: 'variant', hint: `choose a variant the repo has: ${variants.join(', ')} ("default" = no variant option)`,
      });
    }
    throw new LatentlabError('HUB_NO_SAFETENSORS', `${repoId}: ${w.component} has no .safetensors weights${w.unusable.length > 0 ? ` (only ${w.unusable.join(', ')})` : ''}; latentlab reads safetensors only`, {
      hint: `look for a safetensors conversion pull request on ${repoId}'s Community tab and pass its revision (refs/pr/N), or convert the model with diffusers (save_pretrained(..., safe_serialization=True))`,
    });
  }
}

/** Safetensors variants present in a listing ("default" for files without one), for messages. */
function variantsIn(listing: readonly string[]): string[] {
  const found = new Set<string>();
  for (const path of listing) {
    const m = /(?:^|\/)(?:diffusion_pytorch_model|model)(?:\.([^.\-/]+))?(?:-\d+-of-\d+)?\.safetensors$/.exec(path);
    if (m) found.add(m[1] ?? 'default');
  }
  return [...found].sort();
}

export function notAPipeline(repoId: string, revision: string, listing: readonly string[]): LatentlabError {
  const single = listing.filter((f) => !f.includes('/') && /\.(safetensors|ckpt)$/.test(f));
  return new LatentlabError('HUB_NOT_A_PIPELINE', `${repoId} at ${revision} has no model_index.json: it is not a diffusers pipeline${single.length > 0 ? ` (it holds single-file checkpoints: ${single.join(', ')})` : ''}`, {
    hint: 'pass the id of a diffusers-format repo (one with model_index.json, unet/, vae/, text_encoder/, ...)',
  });
}

/** Every file the pipeline needs must be in the repo's listing of the commit. */
export function checkListed(needed: readonly string[], listing: readonly string[], repoId: string, revision: string, commit: string): void {
  const absent = needed.filter((f) => !listing.includes(f));
  if (absent.length > 0) {
    throw new LatentlabError('HUB_REPO_INCOMPLETE', `${repoId} at ${revision} (${commit}) lacks files the pipeline needs: ${[...new Set(absent)].sort().join(', ')}`, {
      hint: 'this repo is not a complete diffusers Stable Diffusion pipeline: choose another revision or model',
    });
  }
}

/** A revision is a branch, tag or sha; it also names a file under refs/, so it may not climb out of it. */
export function checkRevision(revision: string): string {
  if (escapesFolder(revision)) { // '' too: its one segment is empty
    throw new LatentlabError('HUB_BAD_REVISION', `revision ${JSON.stringify(revision)} is not a branch, tag or commit name`, {
      key: 'revision', hint: 'pass a branch or tag (e.g. "main", "v1.0", "refs/pr/3") or a 40-character commit sha',
    });
  }
  return revision;
}

/** What resolving a Hub model gives, on every platform. */
export interface ResolvedHubModel {
  /** The snapshot folder, snapshots/<commit> (Node: in the Hub cache; web: mounted at /hub/models--org--name/snapshots/<commit>). */
  readonly folder: string;
  readonly repoId: string;
  readonly revision: string;
  readonly commit: string;
  /** Repo paths of the files the pipeline uses (all present in `folder`). */
  readonly files: readonly string[];
  /** Bytes downloaded by this call (0: all from the cache). */
  readonly downloadedBytes: number;
  /** True when the Hub was not asked (offline, or unreachable and the cache was complete). */
  readonly offline: boolean;
}
