// What every subcommand shares in its commander setup: errors reported our way (exitOverride, so
// main.ts prints them and picks the exit code), --json and --debug, and an action wrapper that
// gives the action its parsed flags and a Session.

import { Command } from 'commander';

import { Session } from './session.js';

export type Action<F> = (flags: F, session: Session, args: string[]) => Promise<void>;

export const DEBUG_HELP = 'print the stack trace of an error (also LATENTLAB_DEBUG=1)';

/** A subcommand with latentlab's error handling (main.ts adds --debug last, below the command's own flags). */
export function newCommand(name: string, description: string): Command {
  return configure(new Command(name).description(description));
}

/** Commander errors are thrown (main.ts prints them) and shown as `latentlab: error: …` with a pointer to --help. */
export function configure(cmd: Command): Command {
  return cmd
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`latentlab: ${text}`) })
    .showHelpAfterError(`(run "latentlab ${cmd.name() === 'latentlab' ? '' : `${cmd.name()} `}--help" for the flags)`)
    .allowExcessArguments(false);
}

/** Wraps an action: parsed flags in, a Session around it (warnings, Ctrl-C, --json) that is always closed. */
export function action<F>(fn: Action<F>): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const cmd = args[args.length - 1] as Command;
    const flags = cmd.opts<F & { json?: boolean }>();
    const session = new Session(flags.json ?? false);
    try {
      await fn(flags, session, cmd.args);
    } finally {
      session.close();
    }
  };
}

/** "(required)" after the help text of every mandatory flag, so --help shows what must be given. */
export function markRequired(cmd: Command): Command {
  for (const o of cmd.options) if (o.mandatory && !o.description.endsWith('(required)')) o.description = `${o.description} (required)`;
  return cmd;
}
