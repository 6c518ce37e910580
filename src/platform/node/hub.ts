// Models from the Hugging Face Hub, in the cache Python's huggingface_hub shares (docs/hub.md).
//
// `resolveModel(pathOrId)` turns what a user typed after `--model` into a folder to load from:
//
//   an existing folder        -> returned as is
//   a Hub id (org/name)       -> snapshots/<commit>/ in the Hub cache, downloading what is missing:
//                                only model_index.json and the components the pipeline loads, in
//                                safetensors, for the requested variant (src/hub/select.ts)
//   offline (HF_HUB_OFFLINE=1, offline: true), or the Hub unreachable
//                             -> the cached snapshot of refs/<revision>, if it holds everything;
//                                else an error naming the missing files and how to get them
//
// What comes from @huggingface/hub: `modelInfo` (revision -> commit sha + file listing, through our
// fetch), `getRepoFolderName` and `REGEX_COMMIT_HASH` (cache naming), `HUB_URL`. What is written
// here, and why, is said at the top of each file under ./hub/ and src/hub/ (the portable half: ids, file selection, progress, the fetch wrapper): mostly that its downloadFileToCacheDir
// and snapshotDownload neither resume, verify, filter, report progress nor write refs/ as Python does.

import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';

import { LatentlabError } from '../../core/errors.js';
import { exists, RepoCache } from './hub/cache.js';
import { fetchPipeline } from './hub/fetch-pipeline.js';
import { HubClient, REFUSED_CODES, TRANSIENT_CODES, type HubContext } from '../../hub/http.js';
import { repoIdProblem } from '../../hub/model-id.js';
import { checkRevision, type ResolvedHubModel } from '../../hub/plan.js';
import { type HubProgressCallback, type ProgressStream, terminalProgress as progressOn } from '../../hub/progress.js';
import { SD_COMPONENTS } from '../../hub/select.js';
import { hubSettings, type HubOptions } from './hub/settings.js';
import { checkSnapshot } from './hub/snapshot.js';

export type { ResolvedHubModel } from '../../hub/plan.js';

export { isHubModelId, repoIdProblem } from '../../hub/model-id.js';
export { formatBytes, type HubProgressCallback, type HubProgressEvent, type ProgressStream } from '../../hub/progress.js';
export { SD_COMPONENTS } from '../../hub/select.js';
export { hfHome, hubCacheDir, hubSettings, type HubOptions, type HubSettings } from './hub/settings.js';

/** The terminal progress bar (src/hub/progress.ts), on stderr unless told otherwise. */
export function terminalProgress(stream: ProgressStream = process.stderr): HubProgressCallback {
  return progressOn(stream);
}

export interface ResolveModelOptions extends HubOptions {
  /** Branch, tag or full commit sha (default "main"). */
  revision?: string;
  /** Weights variant, e.g. "fp16": `unet/diffusion_pytorch_model.fp16.safetensors`. */
  variant?: string;
  /** Components to fetch (default SD_COMPONENTS: text_encoder, tokenizer, unet, vae, scheduler). */
  components?: readonly string[];
  /** Progress and warnings; default: a bar on stderr when it is a TTY (warnings always). `false`: silent. */
  onProgress?: HubProgressCallback | false;
}


/** A local diffusers folder as is, or a Hub model id resolved to its cached snapshot (downloading what is missing). */
export async function resolveModel(pathOrId: string, options: ResolveModelOptions = {}): Promise<string> {
  const st = await stat(pathOrId).catch(() => undefined);
  if (st?.isDirectory()) return pathOrId;
  const local = resolve(pathOrId);
  if (st) {
    throw new LatentlabError('MODEL_NOT_FOUND', `${pathOrId} is a file (${local}); expected a diffusers pipeline folder or a Hub model id`, {
      file: local, hint: 'pass the folder that holds model_index.json (single-file checkpoints are not supported yet), or an id such as stable-diffusion-v1-5/stable-diffusion-v1-5',
    });
  }
  const problem = repoIdProblem(pathOrId);
  if (problem) {
    throw new LatentlabError('MODEL_NOT_FOUND', `no folder ${local} (looked for ${JSON.stringify(pathOrId)} as a local path), and it is not a Hub model id: ${problem}`, {
      file: local, hint: 'pass an existing diffusers folder, or a Hub id like org/name (e.g. stable-diffusion-v1-5/stable-diffusion-v1-5)',
    });
  }
  return (await resolveHubModel(pathOrId, options)).folder;
}

/** A Hub model id to its snapshot folder in the cache; see the header. */
export async function resolveHubModel(repoId: string, options: ResolveModelOptions = {}): Promise<ResolvedHubModel> {
  const problem = repoIdProblem(repoId);
  if (problem) throw new LatentlabError('MODEL_NOT_FOUND', `${JSON.stringify(repoId)} is not a Hub model id: ${problem}`, { hint: 'ids look like org/name' });
  const settings = hubSettings(options);
  const revision = checkRevision(options.revision ?? 'main');
  const emit: HubProgressCallback = options.onProgress === false ? () => {} : options.onProgress ?? terminalProgress();
  const ctx: HubContext = { settings, repoId, revision, localPath: resolve(repoId) };
  const cache = new RepoCache(settings.cacheDir, repoId);
  const select = { variant: options.variant, components: options.components ?? SD_COMPONENTS };
  if (settings.offline) return fromCache(ctx, cache, select, emit, undefined);
  try {
    const r = await fetchPipeline(new HubClient(ctx), cache, select, emit);
    emit({ type: 'done', folder: r.folder, commit: r.commit, downloadedBytes: r.downloadedBytes, offline: false });
    return { ...r, repoId, revision, offline: false };
  } catch (e) {
    // Like huggingface_hub: when the Hub cannot answer (or refuses a token) but the cache holds the
    // revision, use the cache and say so.
    if (!(e instanceof LatentlabError) || !(TRANSIENT_CODES.has(e.code) || REFUSED_CODES.has(e.code))) throw e;
    const cached = await fromCache(ctx, cache, select, emit, e).catch(() => undefined);
    if (!cached) throw e;
    return cached;
  }
}

/** The cached snapshot of the revision, checked complete; `why` is the Hub error that sent us here, if any. */
async function fromCache(ctx: HubContext, cache: RepoCache, select: { variant?: string; components: readonly string[] }, emit: HubProgressCallback, why: LatentlabError | undefined): Promise<ResolvedHubModel> {
  const { repoId, revision, settings } = ctx;
  const commit = await cache.commitOf(revision);
  if (!commit || !(await exists(cache.snapshot(commit)))) {
    const known = await cache.snapshots();
    throw new LatentlabError('MODEL_NOT_FOUND', `${repoId} (revision ${revision}) is not in the Hugging Face cache ${settings.cacheDir}, and no local folder ${ctx.localPath} exists; ${offlineReason(why)}`, {
      hint: `${getCommands(ctx, select.variant)}${known.length > 0 ? `; cached commits of ${repoId}: ${known.join(', ')} (pass one as the revision)` : ''}`,
    });
  }
  const check = await checkSnapshot(cache.snapshot(commit), repoId, select);
  if (check.missing.length > 0) {
    throw new LatentlabError('HUB_OFFLINE_MISSING', `${repoId} (revision ${revision} = ${commit}) is cached in ${cache.snapshot(commit)} but lacks ${check.missing.length} file(s) the pipeline needs: ${check.missing.join(', ')}; ${offlineReason(why)}`, {
      hint: `${getCommands(ctx, select.variant, check.missing)}`,
    });
  }
  const folder = cache.snapshot(commit);
  if (why) emit({ type: 'warning', message: `${why.message.split('\n')[0]}; using the cached snapshot ${commit} of ${repoId}` });
  emit({ type: 'done', folder, commit, downloadedBytes: 0, offline: true });
  return { folder, repoId, revision, commit, files: check.present, downloadedBytes: 0, offline: true };
}

function offlineReason(why: LatentlabError | undefined): string {
  return why ? `and the Hub could not be used (${why.code}: ${why.message.split('\n')[0]})` : 'offline mode (HF_HUB_OFFLINE or offline: true) does not download';
}

/** The commands that fetch what is missing (latentlab itself, or Python's CLI with --include). */
function getCommands(ctx: HubContext, variant: string | undefined, missing?: readonly string[]): string {
  const { repoId, revision } = ctx;
  const flags = `${variant ? ` --variant ${variant}` : ''}${revision !== 'main' ? ` --revision ${revision}` : ''}`;
  // Without model_index.json the file list is unknown: suggest the pipeline's folders instead.
  const exact = missing && !missing.includes('model_index.json');
  const include = exact ? missing : ['model_index.json', ...SD_COMPONENTS.map((c) => `${c}/*`)];
  const exclude = exact ? '' : ` --exclude "*.bin" "*.ckpt" "*.msgpack" "*.onnx*"`;
  return `with network (and HF_HUB_OFFLINE unset), run \`latentlab generate --model ${repoId}${flags} --prompt "..."\` once (it downloads what is missing), `
    + `or \`huggingface-cli download ${repoId}${revision !== 'main' ? ` --revision ${revision}` : ''} --include ${include.map((f) => `"${f}"`).join(' ')}${exclude}\``;
}
