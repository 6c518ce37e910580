// Models from the Hugging Face Hub in a browser: `StableDiffusionPipeline.fromPretrained('org/name')`
// works in a page as in Node. The rules are the Node client's (platform/node/hub.ts) and come from
// the same code (src/hub: ids, file selection, its checks, progress events, the fetch wrapper);
// what differs is where the files go:
//
//   1. model info at the revision, GET /api/models/{id}/revision/{rev}?expand=sha&expand=siblings
//      (the request @huggingface/hub's `modelInfo` makes for Node; that package cannot be bundled for
//      a browser, src/hub/settings.ts) → the commit sha and the repo listing;
//   2. model_index.json, the selection (src/hub/select.ts), shard indexes and their shards;
//   3. a HEAD per file not cached yet (sizes for the plan), then the downloads with progress
//      (./hub-download.ts), each stored in the Cache API (`caches.open('latentlab-hub')`) under its
//      resolve URL, `{endpoint}/{id}/resolve/{commit}/{path}` — a commit never changes, so a cached
//      response is never stale — and the revision's commit + listing under
//      `{endpoint}/api/models/{id}/revision/{rev}`;
//   4. the files mounted on the page's file system (./files.ts) at
//      /hub/models--org--name/snapshots/{commit}, read from the Cache API as Blobs (disk-backed).
//
// Offline (`offline: true`), or when the Hub cannot answer (no network, 5xx, or it refuses a token),
// the cached revision is used if it holds every file, with a warning, as huggingface_hub does —
// so a second load needs no network. The page's settings — what HF_ENDPOINT, HF_TOKEN and
// HF_HUB_OFFLINE are in Node — are set with `configureHub`; a call's options win. A page outside a
// secure context has no Cache API: files are then kept in memory for the page's lifetime.

import { LatentlabError } from '../../core/errors.js';
import { type HubContext, HubClient, REFUSED_CODES, TRANSIENT_CODES } from '../../hub/http.js';
import { repoIdProblem } from '../../hub/model-id.js';
import { checkListed, checkRevision, checkSelection, notAPipeline, type ResolvedHubModel, shardsFromIndex } from '../../hub/plan.js';
import type { HubProgressCallback } from '../../hub/progress.js';
import { SD_COMPONENTS, selectPipelineFiles, type SelectOptions } from '../../hub/select.js';
import { HUB_ENDPOINT, type HubOptions, type HubSettings } from '../../hub/settings.js';
import { parseModelIndex, type Config } from '../../weights/diffusers.js';
import { parseJson } from '../../weights/pyjson.js';
import { blobFile, type WebFile, webFileSystem } from './files.js';
import { downloadWebFile, webFileMeta } from './hub-download.js';

export type { ResolvedHubModel } from '../../hub/plan.js';

/** The Cache API cache the files go to (`cacheDir` names another). */
export const HUB_CACHE_NAME = 'latentlab-hub';

export interface WebHubOptions extends HubOptions {
  /** Branch, tag or full commit sha (default "main"). */
  revision?: string;
  /** Weights variant, e.g. "fp16". */
  variant?: string;
  /** Components to fetch (default SD_COMPONENTS). */
  components?: readonly string[];
  /** Progress and warnings (default: warnings on console.warn); `false`: silent. */
  onProgress?: HubProgressCallback | false;
}


let pageSettings: HubOptions = {};

/** The page's Hub settings (endpoint, token, offline, cacheDir = Cache API name); later calls add to earlier ones. */
export function configureHub(options: HubOptions): void {
  pageSettings = { ...pageSettings, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
}

/** The effective settings: a call's options, then configureHub's, then huggingface_hub's defaults. */
export function webHubSettings(options: HubOptions = {}): HubSettings {
  const o: HubOptions = { ...pageSettings, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  const endpoint = (o.endpoint ?? HUB_ENDPOINT).replace(/\/+$/, '');
  let ok = false;
  try {
    ok = ['http:', 'https:'].includes(new URL(endpoint).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw new LatentlabError('HUB_BAD_ENDPOINT', `the Hub endpoint is ${JSON.stringify(endpoint)}, expected an http(s) URL such as ${HUB_ENDPOINT}`, { key: 'endpoint', hint: 'pass the Hub (or mirror) base URL to configureHub({ endpoint }) or the call' });
  const token = o.token === false ? undefined : o.token?.trim() || undefined;
  return { cacheDir: o.cacheDir ?? HUB_CACHE_NAME, endpoint, token, tokenSource: token ? 'the token option' : undefined, offline: o.offline ?? false, tokenPath: '' };
}

/** Where responses are kept: the Cache API, or a Map when the page has none. */
interface Store {
  match(url: string): Promise<Response | undefined>;
  put(url: string, res: Response): Promise<void>;
}

const memoryStores = new Map<string, Map<string, Blob>>();

async function openStore(name: string, emit: HubProgressCallback): Promise<Store> {
  if (globalThis.caches) {
    const cache = await caches.open(name);
    return { match: (url) => cache.match(url), put: (url, res) => cache.put(url, res) };
  }
  emit({ type: 'warning', message: 'this page has no Cache API (it is not a secure context): Hub files are kept in memory and downloaded again after a reload' });
  const map = memoryStores.get(name) ?? new Map<string, Blob>();
  memoryStores.set(name, map);
  return {
    match: async (url) => (map.has(url) ? new Response(map.get(url)) : undefined),
    put: async (url, res) => void map.set(url, await res.blob()),
  };
}

/** A mounted folder as is; a Hub id resolved, downloaded into the Cache API and mounted. */
export async function resolveWebModel(pathOrId: string, options: WebHubOptions = {}): Promise<string> {
  if ((await webFileSystem.stat(pathOrId))?.isDirectory || repoIdProblem(pathOrId) !== undefined) return pathOrId;
  return (await resolveHubModel(pathOrId, options)).folder;
}

/** A Hub model id to a mounted snapshot of it (see the header). */
export async function resolveHubModel(repoId: string, options: WebHubOptions = {}): Promise<ResolvedHubModel> {
  const problem = repoIdProblem(repoId);
  if (problem) throw new LatentlabError('MODEL_NOT_FOUND', `${JSON.stringify(repoId)} is not a Hub model id: ${problem}`, { hint: 'ids look like org/name' });
  const settings = webHubSettings(options);
  const revision = checkRevision(options.revision ?? 'main');
  const emit: HubProgressCallback = options.onProgress === false ? () => {} : options.onProgress ?? ((e) => { if (e.type === 'warning') console.warn(e.message); });
  const ctx: HubContext = { settings, repoId, revision, localPath: webFileSystem.resolve(repoId) };
  const client = new HubClient(ctx, { browser: true });
  const store = await openStore(settings.cacheDir, emit);
  const select: SelectOptions = { variant: options.variant, components: options.components ?? SD_COMPONENTS };
  let result: Omit<ResolvedHubModel, 'folder'>;
  if (settings.offline) result = await fromCache(client, store, select, emit, undefined);
  else {
    try {
      result = await fromHub(client, store, select, emit);
    } catch (e) {
      if (!(e instanceof LatentlabError) || !(TRANSIENT_CODES.has(e.code) || REFUSED_CODES.has(e.code))) throw e;
      result = await fromCache(client, store, select, emit, e).catch(() => { throw e; });
    }
  }
  const folder = await mountSnapshot(client, store, result.commit, result.files);
  emit({ type: 'done', folder, commit: result.commit, downloadedBytes: result.downloadedBytes, offline: result.offline });
  return { ...result, folder };
}

const refUrl = (client: HubClient, revision: string) => `${client.ctx.settings.endpoint}/api/models/${client.ctx.repoId}/revision/${encodeURIComponent(revision)}`;

/** The files the pipeline needs at a commit, from the listing; `text(path)` reads model_index.json and shard indexes. */
async function neededFiles(client: HubClient, commit: string, listing: readonly string[], select: SelectOptions, emit: HubProgressCallback, text: (path: string) => Promise<string>): Promise<string[]> {
  const { repoId, revision } = client.ctx;
  if (!listing.includes('model_index.json')) throw notAPipeline(repoId, revision, listing);
  const indexUrl = client.resolveUrl(commit, 'model_index.json');
  const raw = parseJson(await text('model_index.json'), { nonFinite: true });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new LatentlabError('CONFIG_BAD_JSON', `${indexUrl}: expected a JSON object`, { file: indexUrl });
  const selection = selectPipelineFiles(listing, parseModelIndex(raw as Config, indexUrl), select);
  checkSelection(selection, repoId, select.variant, listing, emit);
  const files = new Set(selection.files);
  for (const w of selection.weights) {
    if (!w.sharded) continue;
    const index = `${w.component}/${w.file}`;
    for (const shard of shardsFromIndex(await text(index), index, client.resolveUrl(commit, index), repoId)) files.add(shard);
  }
  checkListed([...files, ...selection.required], listing, repoId, revision, commit);
  return [...files].sort();
}

async function fromHub(client: HubClient, store: Store, select: SelectOptions, emit: HubProgressCallback): Promise<Omit<ResolvedHubModel, 'folder'>> {
  const { repoId, revision, settings } = client.ctx;
  const res = await client.request(`${refUrl(client, revision)}?expand=sha&expand=siblings`, {});
  const info = (await res.json().catch(() => ({}))) as { sha?: unknown; siblings?: { rfilename?: unknown }[] };
  const commit = info.sha;
  const listing = Array.isArray(info.siblings) ? info.siblings.map((s) => s?.rfilename) : undefined;
  if (typeof commit !== 'string' || !/^[0-9a-f]{40}$/.test(commit) || !listing?.every((f): f is string => typeof f === 'string')) {
    throw new LatentlabError('HUB_BAD_RESPONSE', `the model info of ${repoId} at ${revision} has no commit sha or file list`, { hint: `${settings.endpoint} does not answer like the Hugging Face Hub: check the endpoint` });
  }
  const put = (path: string, bytes: Uint8Array) => store.put(client.resolveUrl(commit, path), new Response(bytes as BlobPart, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) } }));
  // Small files (model_index.json, shard indexes) come first, outside the plan, as in Node.
  const small = async (path: string) => {
    const cached = await store.match(client.resolveUrl(commit, path));
    if (cached) return cached.text();
    const bytes = await downloadWebFile(client, commit, await webFileMeta(client, commit, path), () => {});
    await put(path, bytes);
    return new TextDecoder().decode(bytes);
  };
  const files = await neededFiles(client, commit, listing, select, emit, small);
  const plan = [];
  for (const path of files) if (!(await store.match(client.resolveUrl(commit, path)))) plan.push(await webFileMeta(client, commit, path));
  const totalBytes = plan.reduce((n, m) => n + m.size, 0);
  emit({ type: 'plan', repoId, revision, commit, files, download: plan.map((m) => ({ path: m.path, size: m.size })), totalBytes });
  let doneBytes = 0;
  for (const meta of plan) {
    const bytes = await downloadWebFile(client, commit, meta, (fileBytes) => emit({ type: 'download', path: meta.path, fileBytes, fileSize: meta.size, doneBytes: doneBytes + fileBytes, totalBytes }));
    await put(meta.path, bytes);
    doneBytes += bytes.byteLength;
    emit({ type: 'file-done', path: meta.path, size: bytes.byteLength });
  }
  // The revision's commit and listing, last: a recorded revision always has its files.
  const ref = JSON.stringify({ commit, listing });
  for (const rev of new Set([revision, commit])) await store.put(refUrl(client, rev), new Response(ref, { headers: { 'content-type': 'application/json' } }));
  return { repoId, revision, commit, files, downloadedBytes: doneBytes, offline: false };
}

class MissingFile extends Error {
  constructor(readonly path: string) {
    super(path);
  }
}

/** The cached revision, checked complete; `why` is the Hub error that sent us here, if any. */
async function fromCache(client: HubClient, store: Store, select: SelectOptions, emit: HubProgressCallback, why: LatentlabError | undefined): Promise<Omit<ResolvedHubModel, 'folder'>> {
  const { repoId, revision, settings } = client.ctx;
  const reason = why ? `and the Hub could not be used (${why.code}: ${why.message.split('\n')[0]})` : 'offline mode (offline: true) does not download';
  const ref = await store.match(refUrl(client, revision));
  if (!ref) {
    throw new LatentlabError('MODEL_NOT_FOUND', `${repoId} (revision ${revision}) is not in this page's Cache API cache "${settings.cacheDir}" for ${settings.endpoint}, and no folder ${client.ctx.localPath} is mounted; ${reason}`, {
      hint: `load it once with network (offline unset) so its files are cached, or mount a folder`,
    });
  }
  const { commit, listing } = (await ref.json()) as { commit: string; listing: string[] };
  const missing: string[] = [];
  // model_index.json or a shard index not cached: the file list is unknown past it, so that is what is missing.
  const text = async (path: string) => {
    const res = await store.match(client.resolveUrl(commit, path));
    if (!res) throw new MissingFile(path);
    return res.text();
  };
  let files: string[] = [];
  try {
    files = await neededFiles(client, commit, listing, select, emit, text);
  } catch (e) {
    if (!(e instanceof MissingFile)) throw e;
    missing.push(e.path);
  }
  for (const path of files) if (!(await store.match(client.resolveUrl(commit, path)))) missing.push(path);
  if (missing.length > 0) {
    throw new LatentlabError('HUB_OFFLINE_MISSING', `${repoId} (revision ${revision} = ${commit}) is cached but lacks ${missing.length} file(s) the pipeline needs: ${missing.join(', ')}; ${reason}`, {
      hint: 'load the model once with network (offline unset): only the missing files are downloaded',
    });
  }
  if (why) emit({ type: 'warning', message: `${why.message.split('\n')[0]}; using the cached snapshot ${commit} of ${repoId}` });
  return { repoId, revision, commit, files, downloadedBytes: 0, offline: true };
}

/** Mounts the cached files at /hub/models--org--name/snapshots/{commit}. */
async function mountSnapshot(client: HubClient, store: Store, commit: string, files: readonly string[]): Promise<string> {
  const folder = `/hub/models--${client.ctx.repoId.replace('/', '--')}/snapshots/${commit}`;
  const mounted = new Map<string, WebFile>();
  for (const path of files) {
    const res = await store.match(client.resolveUrl(commit, path));
    if (!res) throw new LatentlabError('HUB_CACHE_CORRUPT', `${path} of ${client.ctx.repoId} vanished from the Cache API while loading`, { file: path, hint: 'load the model again (the browser may have evicted the cache)' });
    mounted.set(path, blobFile(await res.blob()));
  }
  webFileSystem.mount(folder, mounted);
  return folder;
}
