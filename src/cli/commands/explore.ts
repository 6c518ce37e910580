// latentlab explore: serves the web explorer (docs/explorer.md) and one diffusers folder on
// loopback, prints the URL, and runs until Ctrl-C. `--write-listing DIR` instead writes the folder
// listing a plain static server needs beside the model (latentlab-files.json).

import { existsSync } from 'node:fs';
import { writeFile, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Command } from 'commander';

import { defaultModelPath, FOLDER_LISTING_NAME, LatentlabError } from '../../node.js';
import { action, newCommand } from '../command.js';
import { folderListing, startExploreServer } from '../explore-server.js';
import { stringifyJson } from '../metadata.js';
import { integerFlag } from '../values.js';

/** The package root: src/cli/commands (tsx) and dist/cli/commands (the package) are both three levels down. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The model the explorer opens without --model: the self-trained mini model, else the tiny test model of a checkout. */
export function defaultExploreModel(): string | undefined {
  return [defaultModelPath(), join(ROOT, 'test', 'fixtures', 'conformance', 'pipelines', 'tiny-sd15')]
    .find((d) => existsSync(join(d, 'model_index.json')));
}

/** dist/explorer, built first from explorer/ when it is missing and the sources are here (a checkout under tsx). */
async function explorerDir(): Promise<string> {
  const dir = join(ROOT, 'dist', 'explorer');
  if (existsSync(join(dir, 'main.js'))) return dir;
  const build = join(ROOT, 'explorer', 'build.ts');
  if (existsSync(build)) {
    try {
      const { buildExplorer } = (await import(build)) as { buildExplorer(out: string): Promise<unknown> };
      await buildExplorer(dir);
      return dir;
    } catch (e) {
      throw new LatentlabError('EXPLORER_BUILD', `could not build the explorer from ${build}: ${(e as Error).message}`, { cause: e, hint: 'run `npm run build:explorer`' });
    }
  }
  throw new LatentlabError('EXPLORER_MISSING', `the built explorer is missing (${dir})`, { file: dir, hint: 'reinstall latentlab, or run `npm run build:explorer` in a checkout' });
}

interface ExploreFlags {
  model?: string;
  port: number;
  host: string;
  writeListing?: string;
}

export function exploreCommand(): Command {
  const cmd = newCommand('explore', 'open the web explorer: Stable Diffusion taken apart, running in your browser')
    .option('--model <dir>', 'the diffusers folder the page loads (default: models/latentlab-mini, else the tiny test model)')
    .option('--port <n>', 'port to listen on (0: any free one)', integerFlag('--port', 0), 8777)
    .option('--host <addr>', 'address to bind (loopback by default: the server reads your disk)', '127.0.0.1')
    .option('--write-listing <dir>', `write ${FOLDER_LISTING_NAME} into a model folder for a plain static server, and exit`);
  cmd.addHelpText('after', '\nExamples:\n  latentlab explore\n  latentlab explore --model ./my-model --port 0\n\nMore: docs/explorer.md');
  return cmd.action(action<ExploreFlags>(async (flags, session) => {
    if (flags.writeListing) {
      const dir = resolve(flags.writeListing);
      const file = join(dir, FOLDER_LISTING_NAME);
      await writeFile(`${file}.tmp`, JSON.stringify(await folderListing(dir), null, 1));
      await rename(`${file}.tmp`, file);
      session.print(`wrote ${file}`);
      return;
    }
    const model = flags.model ?? defaultExploreModel();
    if (!model) throw new LatentlabError('MODEL_NOT_FOUND', 'no model to explore: models/latentlab-mini does not exist here', { hint: 'pass --model DIR (a diffusers folder)' });
    const server = await startExploreServer({ explorerDir: await explorerDir(), modelDir: model, host: flags.host, port: flags.port });
    session.print(`latentlab explorer: ${server.url}  (model ${resolve(model)}; Ctrl-C stops)`);
    session.report({ command: 'explore', url: server.url, model: resolve(model) }, (v) => stringifyJson(v));
    // Ctrl-C aborts the session's signal; SIGTERM (a service manager, a test) stops it the same way.
    await new Promise<void>((done) => {
      session.signal.addEventListener('abort', () => done(), { once: true });
      process.once('SIGTERM', () => done());
    });
    await server.close();
  }));
}
