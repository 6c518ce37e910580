// Talking to the Hub: one fetch wrapper for every request (ours and @huggingface/hub's, which accepts
// a custom `fetch`), and the per-file metadata request of huggingface_hub's `get_hf_file_metadata`.
//
// The wrapper sends the token only to the endpoint's own origin (a redirect to the CDN carries its
// own signature, and a token must never leak to another host), asks for uncompressed bodies (sizes
// must match the bytes written), and turns every failure into a LatentlabError: the Hub's
// `X-Error-Code` header (GatedRepo, RepoNotFound, RevisionNotFound, EntryNotFound) picks the code,
// and the message says what to do — set HF_TOKEN, accept a license, check the id, go offline.
// @huggingface/hub's own HubApiError keeps neither that header nor a hint, which is why the wrapper
// raises the error itself before the library sees the response. The token is added here too, not
// passed as the library's `accessToken`: that one goes to every URL and must start with "hf_",
// which Python does not require (mirrors and enterprise Hubs issue other tokens).

import { LatentlabError } from '../core/errors.js';
import type { HubSettings } from './settings.js';

/** What a request is about, for error messages. */
export interface HubContext {
  readonly settings: HubSettings;
  readonly repoId: string;
  readonly revision: string;
  /** The local folder that was looked for first (same string as the id), absolute. */
  readonly localPath: string;
}

/** huggingface_hub's `HfFileMetadata`: what a HEAD on /{repo}/resolve/{commit}/{path} tells. */
export interface FileMeta {
  readonly path: string;
  readonly commit: string;
  /** Blob name: X-Linked-Etag (LFS sha256) or ETag (git sha1), quotes removed. */
  readonly etag: string;
  readonly size: number;
  /** Where the bytes are: the CDN URL of a redirect, or the resolve URL itself. */
  readonly url: string;
  /** When this was asked (Date.now()): CDN links are signed and expire. */
  readonly at: number;
}

const METADATA_TIMEOUT_MS = 20_000;
const MAX_REDIRECTS = 10;

/** Codes that mean "the Hub could not answer this time"; a complete cached snapshot is then used. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set(['HUB_UNREACHABLE', 'HUB_SERVER_ERROR']);
/** Codes that mean "the Hub refused"; huggingface_hub still serves what the cache holds. */
export const REFUSED_CODES: ReadonlySet<string> = new Set(['HUB_UNAUTHORIZED', 'HUB_FORBIDDEN', 'HUB_GATED']);

export class HubClient {
  private readonly origin: string;

  /**
   * `browser`: leave User-Agent and Accept-Encoding to the browser. It refuses to set them (they are
   * forbidden request headers; a body it decompresses still arrives whole, with the sizes the Hub
   * announces for the bytes), and where it allows them they only force a CORS preflight.
   */
  constructor(readonly ctx: HubContext, private readonly options: { browser?: boolean } = {}) {
    this.origin = new URL(ctx.settings.endpoint).origin;
  }

  /** `{endpoint}/{repo}/resolve/{commit}/{path}`, each path segment URL-encoded. */
  resolveUrl(commit: string, path: string): string {
    const file = path.split('/').map(encodeURIComponent).join('/');
    return `${this.ctx.settings.endpoint}/${this.ctx.repoId}/resolve/${encodeURIComponent(commit)}/${file}`;
  }

  /** A `fetch` for @huggingface/hub: same as `request`, erroring on any non-2xx answer. */
  readonly fetch: typeof fetch = (input, init) => this.request(String(input instanceof Request ? input.url : input), init ?? {});

  /**
   * One request. Adds the token (same origin only), `Accept-Encoding: identity` and a timeout unless
   * `init.signal` is set. Returns 2xx answers, and 3xx ones when `init.redirect` is 'manual', plus the
   * statuses in `allow`; throws a LatentlabError for the rest and for network failures.
   */
  async request(url: string, init: RequestInit, file?: string, allow: readonly number[] = []): Promise<Response> {
    const headers = new Headers(init.headers);
    const { token } = this.ctx.settings;
    if (token && new URL(url).origin === this.origin) headers.set('authorization', `Bearer ${token}`);
    else headers.delete('authorization');
    if (!this.options.browser) {
      if (!headers.has('accept-encoding')) headers.set('accept-encoding', 'identity');
      headers.set('user-agent', 'latentlab (Hugging Face cache compatible)');
    }
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers, signal: init.signal ?? AbortSignal.timeout(METADATA_TIMEOUT_MS) });
    } catch (e) {
      throw this.unreachable(e);
    }
    const redirect = init.redirect === 'manual' && res.status >= 300 && res.status < 400;
    if (res.ok || redirect || allow.includes(res.status)) return res;
    throw await this.statusError(res, url, file);
  }

  /** HEAD on the resolve URL, following only relative redirects (a renamed repo), as huggingface_hub does. */
  async fileMeta(commit: string, path: string): Promise<FileMeta> {
    let url = this.resolveUrl(commit, path);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const res = await this.request(url, { method: 'HEAD', redirect: 'manual' }, path);
      const location = res.headers.get('location');
      const relativeRedirect = res.status >= 300 && res.status < 400 && location !== null && !/^[a-z][a-z0-9+.-]*:\/\//i.test(location);
      if (relativeRedirect) {
        url = new URL(location, url).href;
        continue;
      }
      return this.metaFrom(res, url, commit, path);
    }
    throw new LatentlabError('HUB_BAD_RESPONSE', `more than ${MAX_REDIRECTS} redirects for ${this.ctx.repoId}/${path}`, { hint: 'check HF_ENDPOINT and any proxy in between' });
  }

  private metaFrom(res: Response, url: string, commit: string, path: string): FileMeta {
    const h = res.headers;
    const repoCommit = h.get('x-repo-commit');
    const etag = (h.get('x-linked-etag') ?? h.get('etag'))?.replace(/^W\//, '').replace(/"/g, '');
    const size = Number(h.get('x-linked-size') ?? h.get('content-length') ?? NaN);
    const location = h.get('location');
    if (!repoCommit || !etag || !Number.isSafeInteger(size) || size < 0) {
      // huggingface_hub says the same: a proxy, firewall or captive portal answered instead of the Hub.
      throw new LatentlabError('HUB_BAD_RESPONSE', `${url} answered without the Hub's X-Repo-Commit / ETag / size headers`, {
        file: path, hint: `${this.ctx.settings.endpoint} does not look like a Hugging Face Hub: check HF_ENDPOINT, your proxy and firewall settings`,
      });
    }
    if (repoCommit !== commit) {
      throw new LatentlabError('HUB_BAD_RESPONSE', `${url} answered for commit ${repoCommit}, expected ${commit}`, {
        file: path, hint: 'a mirror or proxy in between serves another revision: check HF_ENDPOINT',
      });
    }
    return { path, commit, etag, size, url: location ? new URL(location, url).href : url, at: Date.now() };
  }

  /** A network failure (no answer at all), with the way to work offline. */
  unreachable(e: unknown): LatentlabError {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = (e as Error).name === 'TimeoutError' ? 'timed out' : cause?.code ?? cause?.message ?? (e as Error).message;
    const { endpoint } = this.ctx.settings;
    return new LatentlabError('HUB_UNREACHABLE', `cannot reach ${endpoint} (${why}) to resolve ${this.ctx.repoId}`, {
      cause: e,
      hint: `check your connection, proxy and HF_ENDPOINT; a model downloaded before can be used without network: set HF_HUB_OFFLINE=1 (or pass offline: true)`,
    });
  }

  private async statusError(res: Response, url: string, file?: string): Promise<LatentlabError> {
    const code = res.headers.get('x-error-code') ?? '';
    const body = await res.text().catch(() => '');
    let detail = res.headers.get('x-error-message') ?? '';
    try {
      detail ||= (JSON.parse(body) as { error?: string }).error ?? '';
    } catch {
      detail ||= '';
    }
    const { repoId, revision, settings, localPath } = this.ctx;
    const what = file ? `${file} of ${repoId} (revision ${revision})` : `${repoId} (revision ${revision})`;
    const status = `${res.status}${detail ? `: ${detail}` : ''}`;
    const sent = settings.token ? `the token from ${settings.tokenSource} was sent` : 'no token was sent';
    const login = `set HF_TOKEN=hf_... (a read token from ${settings.endpoint}/settings/tokens) or run \`huggingface-cli login\``;
    const page = `${settings.endpoint}/${repoId}`;
    const d = { file, cause: detail || undefined };
    if ((res.status === 401 || res.status === 403) && code === 'GatedRepo') {
      return new LatentlabError('HUB_GATED', `${repoId} is a gated model: the Hub refused ${what} with ${status}; ${sent}`, {
        ...d, hint: `open ${page}, log in and accept its conditions, then ${settings.token ? 'make sure the token belongs to that account (fine-grained tokens need "read access to public gated repos")' : login}`,
      });
    }
    if (res.status === 401) {
      return new LatentlabError('HUB_UNAUTHORIZED', `the Hub answered 401 for ${what}: the model does not exist, or it is private or gated (${sent}); no local folder ${localPath} exists either`, {
        ...d, hint: `check the id (org/name, as on ${settings.endpoint}); for a private or gated model ${settings.token ? `check that the token from ${settings.tokenSource} is valid and has read access` : login}`,
      });
    }
    if (res.status === 403) {
      return new LatentlabError('HUB_FORBIDDEN', `the Hub answered 403 for ${what}: ${sent} but it does not grant access`, {
        ...d, hint: `accept the model's conditions at ${page} with the token's account, or use a token with read access (${settings.endpoint}/settings/tokens)`,
      });
    }
    if (res.status === 404 && (code === 'RevisionNotFound' || (!code && !file && /rev/i.test(detail)))) {
      return new LatentlabError('HUB_REVISION_NOT_FOUND', `${repoId} has no revision ${JSON.stringify(revision)} (no such branch, tag or commit)`, {
        ...d, hint: `use a branch or tag listed at ${page}/tree/main, or a full 40-character commit sha (the default is "main")`,
      });
    }
    if (res.status === 404 && code === 'EntryNotFound') {
      return new LatentlabError('HUB_FILE_NOT_FOUND', `${repoId} has no file ${file} at revision ${revision}`, { ...d, hint: `see the files at ${page}/tree/${encodeURIComponent(revision)}` });
    }
    if (res.status === 404) {
      return new LatentlabError('HUB_REPO_NOT_FOUND', `no model ${repoId} on ${settings.endpoint} (404${detail ? `: ${detail}` : ''}), and no local folder ${localPath}`, {
        ...d, hint: 'check the id (org/name, e.g. stable-diffusion-v1-5/stable-diffusion-v1-5), or pass the path of a local diffusers folder',
      });
    }
    const transient = res.status === 429 || res.status >= 500;
    return new LatentlabError(transient ? 'HUB_SERVER_ERROR' : 'HUB_HTTP_ERROR', `the Hub answered ${status} for ${url}`, {
      ...d, hint: transient ? 'try again later; a model downloaded before can be used without network: set HF_HUB_OFFLINE=1' : `check the id, the revision and HF_ENDPOINT (${settings.endpoint})`,
    });
  }
}
