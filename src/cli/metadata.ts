// The CLI's side of the run record (the record itself is the library's: pipelines/generation-record.ts):
// the package version, read from package.json, which the library cannot read (no node:fs there).

import { readFileSync } from 'node:fs';

import { type GenerationSettings, pngTextFor as libraryPngText } from '../node.js';

export { type GenerationSettings, type JsonOptions, modelName, promptIndex, type SchedulerReport, stringifyJson } from '../node.js';

/** The package version, read from package.json (two folders up from both src/cli and dist/cli). */
export function latentlabVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The PNG text chunks of image `i`, with this package's version. */
export function pngTextFor(s: GenerationSettings, i: number, model: string): Record<string, string> {
  return libraryPngText(s, i, model, latentlabVersion());
}
