// The seam that turns what a user typed for `--model` (a folder, or a Hugging Face Hub id) into a
// local folder. The Node platform registers the Hub client (download into the cache Python's
// huggingface_hub shares); without one, only local folders work.

export interface ResolveOptions {
  revision?: string;
  variant?: string;
  /** Force offline use of the cache (also HF_HUB_OFFLINE=1). */
  offline?: boolean;
  token?: string;
  /** Download progress (bytes done / total) for a progress bar. */
  onProgress?: (event: { file: string; loaded: number; total: number }) => void;
}

export type ModelResolver = (pathOrId: string, options: ResolveOptions) => Promise<string>;

let current: ModelResolver = async (p) => p;

export function setModelResolver(resolver: ModelResolver): void {
  current = resolver;
}

export function resolveModelPath(pathOrId: string, options: ResolveOptions = {}): Promise<string> {
  return current(pathOrId, options);
}
