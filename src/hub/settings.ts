// What a Hub client is told: the caller's options and the settings they resolve to. The types are
// portable; reading them from the environment and the token file (as Python's huggingface_hub
// does) is the Node platform's job (platform/node/hub/settings.ts), a browser has its own defaults.

/**
 * The Hub's own address (@huggingface/hub's HUB_URL). Spelled out here for the web platform: esbuild
 * cannot bundle @huggingface/hub for a browser (its exports map sends `import` to the Node build,
 * which imports node:fs), so the page's client imports nothing from it.
 */
export const HUB_ENDPOINT = 'https://huggingface.co';

/** The settings a caller may pass; each one overrides its environment variable. */
export interface HubOptions {
  /** Hub cache folder (the one holding `models--org--name`); default from HF_HUB_CACHE / HF_HOME. */
  cacheDir?: string;
  /** Hub base URL; default HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Access token (`hf_...`); `false` sends none even if HF_TOKEN or a token file exists. */
  token?: string | false;
  /** Never touch the network (HF_HUB_OFFLINE=1). */
  offline?: boolean;
}

export interface HubSettings {
  readonly cacheDir: string;
  readonly endpoint: string;
  readonly token?: string;
  /** Where the token came from, for error messages ("HF_TOKEN", "the token file ~/.cache/...", ...). */
  readonly tokenSource?: string;
  readonly offline: boolean;
  /** Where a token file would be read from (for hints). */
  readonly tokenPath: string;
}
