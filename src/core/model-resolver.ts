// The seam that turns what a user typed for `--model` (a folder, or a Hugging Face Hub id) into a
// local folder. The Node platform registers the Hub client (download into the cache Python's
// huggingface_hub shares); without one, only local folders work.

export interface ResolveOptions {
  /** Branch, tag or commit sha (default "main"). */
  revision?: string;
  /** Weight variant to fetch, e.g. "fp16". */
  variant?: string;
  /** Never touch the network (also HF_HUB_OFFLINE=1). */
  offline?: boolean;
  /** Access token; `false` sends none even if HF_TOKEN is set. */
  token?: string | false;
  /** Hub cache folder (default: HF_HUB_CACHE, or HF_HOME/hub). */
  cacheDir?: string;
  /** Hub URL (default: HF_ENDPOINT, or https://huggingface.co). */
  endpoint?: string;
  /**
   * Download progress: the platform's events (Node: HubProgressEvent from platform/node/hub).
   * Default: a progress bar on stderr when it is a terminal; `false`: silent.
   */
  onProgress?: ((event: never) => void) | false;
}

export type ModelResolver = (pathOrId: string, options: ResolveOptions) => Promise<string>;

let current: ModelResolver = async (p) => p;

export function setModelResolver(resolver: ModelResolver): void {
  current = resolver;
}

export function resolveModelPath(pathOrId: string, options: ResolveOptions = {}): Promise<string> {
  return current(pathOrId, options);
}
