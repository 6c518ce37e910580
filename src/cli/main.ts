#!/usr/bin/env node
// The `latentlab` command (docs/cli.md). Built on the public API only (../index.js) plus node:* for
// its own terminal and file I/O. Each subcommand lives in ./commands/; what they share is in this
// folder: flag values (values.ts), the model and scheduler flags (model.ts), output naming and
// atomic writes (outputs.ts), the session (stdout/stderr, --json, Ctrl-C: session.ts), the progress
// bar (progress.ts), PNG and latents metadata (metadata.ts) and error printing (errors.ts).

import { Command, CommanderError } from 'commander';

import { configure, DEBUG_HELP, markRequired } from './command.js';
import { decodeCommand } from './commands/decode.js';
import { encodeCommand } from './commands/encode.js';
import { exploreCommand } from './commands/explore.js';
import { generateCommand } from './commands/generate.js';
import { img2imgCommand } from './commands/img2img.js';
import { infoCommand } from './commands/info.js';
import { inpaintCommand } from './commands/inpaint.js';
import { scheduleCommand } from './commands/schedule.js';
import { serveCommand } from './commands/serve.js';
import { schedulersCommand } from './commands/schedulers.js';
import { tokenizeCommand } from './commands/tokenize.js';
import { trainEmbeddingCommand } from './commands/train-embedding.js';
import { trainMiniCommand } from './commands/train-mini.js';
import { evalMiniCommand } from './commands/eval-mini.js';
import { workerCommand } from './commands/worker.js';
import { asLatentlabError, debugRequested, EXIT, exitCodeFor, formatError } from './errors.js';
import { latentlabVersion } from './metadata.js';

function buildProgram(): Command {
  const program = configure(new Command('latentlab'))
    .description('Stable Diffusion in TypeScript: generate images, and look inside the models (tokens, schedules, latents), train embeddings.')
    .version(latentlabVersion(), '-V, --version')
    .option('--debug', DEBUG_HELP);
  for (const cmd of [generateCommand(), img2imgCommand(), inpaintCommand(), tokenizeCommand(), scheduleCommand(), schedulersCommand(), encodeCommand(), decodeCommand(), trainEmbeddingCommand(), trainMiniCommand(), evalMiniCommand(), infoCommand(), serveCommand(), workerCommand(), exploreCommand()]) {
    program.addCommand(markRequired(cmd.option('--debug', DEBUG_HELP)));
  }
  program.addHelpText('after', '\nRun "latentlab <command> --help" for a command\'s flags. Documentation: docs/cli.md');
  return program;
}

async function main(argv: readonly string[]): Promise<number> {
  // --debug is LATENTLAB_DEBUG=1 for the whole process: the library's ONNX Runtime logging reads it too.
  if (debugRequested(argv)) process.env.LATENTLAB_DEBUG = '1';
  try {
    const program = buildProgram();
    if (argv.length <= 2) {
      program.outputHelp({ error: true });
      return EXIT.usage;
    }
    await program.parseAsync([...argv]);
    return EXIT.ok;
  } catch (e) {
    // Commander has already printed its own message (or the help / version, exit code 0).
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const error = asLatentlabError(e);
    process.stderr.write(`${formatError(error, debugRequested(argv))}\n`);
    return exitCodeFor(error);
  }
}

// `latentlab … | head` closes stdout early: that is the reader saying "enough", not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
  throw e;
});

process.exitCode = await main(process.argv);
