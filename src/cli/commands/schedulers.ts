// latentlab schedulers: every name --scheduler accepts, one sampler per line — latentlab's short
// name, AUTOMATIC1111's, and the diffusers class (whose name alone keeps the model's own options).

import type { Command } from 'commander';

import { resolveSchedulerName, schedulerNames } from '../../node.js';
import { action, newCommand } from '../command.js';
import { stringifyJson } from '../metadata.js';

interface Row {
  name: string;
  a1111?: string;
  className: string;
}

/** One row per short name, with the A1111 name that maps to it. */
export function schedulerRows(): Row[] {
  const rows = new Map<string, Row>();
  for (const n of schedulerNames()) {
    const c = resolveSchedulerName(n);
    const row = rows.get(c.name) ?? { name: c.name, className: c.className };
    if (n !== c.name && n !== c.className) row.a1111 = n;
    rows.set(c.name, row);
  }
  return [...rows.values()];
}

export function schedulersCommand(): Command {
  const cmd = newCommand('schedulers', 'list the sampler names --scheduler accepts (short, AUTOMATIC1111 and diffusers names)')
    .option('--json', 'print one JSON object: {command, schedulers: [{name, a1111, className}]}');
  cmd.addHelpText('after', '\nExample:\n  latentlab schedulers\n\nNames are case-insensitive. More: docs/schedulers.md');
  return cmd.action(action<{ json?: boolean }>(async (_flags, session) => {
    const rows = schedulerRows();
    const w = Math.max(...rows.map((r) => r.name.length));
    const a = Math.max(...rows.map((r) => (r.a1111 ?? '').length));
    session.print(`${'name'.padEnd(w)}  ${'A1111'.padEnd(a)}  diffusers class`);
    for (const r of rows) session.print(`${r.name.padEnd(w)}  ${(r.a1111 ?? '-').padEnd(a)}  ${r.className}`);
    session.print('\nany of these names works with --scheduler, in any case; a class name alone keeps the model\'s own options');
    session.report({ command: 'schedulers', schedulers: rows }, (v) => stringifyJson(v, { indent: 2 }));
  }));
}
