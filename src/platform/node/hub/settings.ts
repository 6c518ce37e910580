// Where the Hugging Face cache is, which Hub to talk to, which token to send and whether to go
// online at all: the same environment variables, defaults and precedence as Python's
// huggingface_hub (constants.py and utils/_auth.py), so that latentlab and Python share one cache
// and one login.
//
//   HF_HOME            default $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface
//   HF_HUB_CACHE       default $HUGGINGFACE_HUB_CACHE (legacy name), else $HF_HOME/hub
//   HF_ENDPOINT        default https://huggingface.co (a trailing "/" is dropped)
//   HF_HUB_OFFLINE     "1", "ON", "YES", "TRUE" (any case); TRANSFORMERS_OFFLINE is read when unset
//   HF_TOKEN           else HUGGING_FACE_HUB_TOKEN, else the file $HF_TOKEN_PATH (default
//                      $HF_HOME/token, what `huggingface-cli login` writes)
//
// Python expands `~` and `$VAR` in the HF_HOME, HF_HUB_CACHE and HF_TOKEN_PATH values (defaults
// included); so do we. @huggingface/hub's getHFHubCachePath() reads the same variables
// but expands nothing and cannot be given an environment to read, hence this small re-implementation.
// Options passed by the caller win over the environment.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { HUB_URL } from '@huggingface/hub';

import { LatentlabError } from '../../../core/errors.js';
import type { HubOptions, HubSettings } from '../../../hub/settings.js';

export type { HubOptions, HubSettings };

type Env = Readonly<Record<string, string | undefined>>;

/** Python's `_is_true`: "1", "ON", "YES", "TRUE" in any case. */
export function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(value.toUpperCase());
}

/** os.path.expanduser + os.path.expandvars: `~` at the start, `$NAME` / `${NAME}` when NAME is set. */
function expand(path: string, env: Env): string {
  const home = env.HOME || homedir();
  const user = path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
  return user.replace(/\$(\w+)|\$\{(\w+)\}/g, (whole, a: string | undefined, b: string | undefined) => env[a ?? b ?? ''] ?? whole);
}

/** An env variable, with "" treated as unset (as Python's `os.environ.get(A) or os.environ.get(B)` does). */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

export function hfHome(env: Env = process.env): string {
  const xdg = env.XDG_CACHE_HOME ?? join(env.HOME || homedir(), '.cache');
  return expand(env.HF_HOME ?? join(xdg, 'huggingface'), env);
}

/** The Hub cache folder as huggingface_hub computes it. */
export function hubCacheDir(env: Env = process.env): string {
  return expand(env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? join(hfHome(env), 'hub'), env);
}

/** `_clean_token`: line breaks removed, surrounding blanks trimmed, empty = no token. */
function cleanToken(raw: string | undefined): string | undefined {
  const t = raw?.replace(/[\r\n]/g, '').trim();
  return t ? t : undefined;
}

/** The effective settings: options first, then the environment, then huggingface_hub's defaults. */
export function hubSettings(options: HubOptions = {}, env: Env = process.env): HubSettings {
  const tokenPath = expand(env.HF_TOKEN_PATH ?? join(hfHome(env), 'token'), env);
  let token: string | undefined;
  let tokenSource: string | undefined;
  if (options.token !== undefined) {
    token = options.token === false ? undefined : cleanToken(options.token);
    tokenSource = token ? 'the token option' : undefined;
  } else if ((token = cleanToken(nonEmpty(env.HF_TOKEN)))) {
    tokenSource = 'HF_TOKEN';
  } else if ((token = cleanToken(nonEmpty(env.HUGGING_FACE_HUB_TOKEN)))) {
    tokenSource = 'HUGGING_FACE_HUB_TOKEN';
  } else if ((token = readTokenFile(tokenPath))) {
    tokenSource = `the token file ${tokenPath}`;
  }
  const endpoint = (options.endpoint ?? nonEmpty(env.HF_ENDPOINT) ?? HUB_URL).replace(/\/+$/, '');
  checkEndpoint(endpoint, options.endpoint !== undefined);
  return {
    cacheDir: options.cacheDir !== undefined ? expand(options.cacheDir, env) : hubCacheDir(env),
    endpoint,
    token,
    tokenSource,
    offline: options.offline ?? isTrue(nonEmpty(env.HF_HUB_OFFLINE) ?? env.TRANSFORMERS_OFFLINE),
    tokenPath,
  };
}

function readTokenFile(path: string): string | undefined {
  try {
    return cleanToken(readFileSync(path, 'utf8'));
  } catch {
    // No token file is the normal case for public models.
    return undefined;
  }
}

function checkEndpoint(endpoint: string, fromOption: boolean): void {
  let ok = false;
  try {
    ok = ['http:', 'https:'].includes(new URL(endpoint).protocol);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new LatentlabError('HUB_BAD_ENDPOINT', `${fromOption ? 'the endpoint option' : 'HF_ENDPOINT'} is ${JSON.stringify(endpoint)}, expected an http(s) URL such as ${HUB_URL}`, {
      key: fromOption ? 'endpoint' : 'HF_ENDPOINT', hint: `set it to the Hub (or mirror) base URL, or unset it to use ${HUB_URL}`,
    });
  }
}
