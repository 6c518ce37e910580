// latentlab schedule: the timesteps, sigmas and initNoiseSigma a scheduler gives for N steps, built
// exactly as the pipeline builds it (the model's scheduler_config.json with diffusers' legacy fixes,
// switched by --scheduler, or a full --scheduler-config), and optionally a plot of them.

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { type Command, Option } from 'commander';

import { fixLegacySchedulerConfig, linePlotSvg, type LineSeries, makeScheduler, parseJson, type Scheduler, svgToPng } from '../../node.js';
import { action, newCommand } from '../command.js';
import { DEFAULT_STEPS } from '../generation-flags.js';
import { stringifyJson } from '../metadata.js';
import {
  addModelOptions, addSchedulerOptions, type ModelFlags, requirePipelineFolder, resolveFolder, schedulerChoice, type SchedulerFlags, schedulerReport,
} from '../model.js';
import { explicitTarget, writeTarget } from '../outputs.js';
import { integerFlag, nonEmptyFlag } from '../values.js';
import { flagError } from '../errors.js';

interface ScheduleFlags extends ModelFlags, SchedulerFlags {
  steps?: number;
  plot?: string;
  overwrite?: boolean;
  json?: boolean;
}

export function scheduleCommand(): Command {
  const cmd = newCommand('schedule', 'print the timesteps and sigmas a scheduler uses for N steps (and plot them)');
  addModelOptions(cmd, { required: false, runs: false });
  addSchedulerOptions(cmd);
  cmd.addOption(new Option('--steps <n>', `number of inference steps (default: ${DEFAULT_STEPS})`).argParser(integerFlag('--steps', 1)));
  cmd.addOption(new Option('--plot <file.png|file.svg>', 'write a line plot: timesteps (left axis) and sigmas (right axis) per step').argParser(nonEmptyFlag('--plot')));
  cmd.option('--overwrite', 'replace an existing --plot file');
  cmd.option('--json', 'print one JSON object on stdout and nothing else');
  cmd.addHelpText('after', `
--model is needed unless --scheduler-config gives the whole config.
Examples:
  latentlab schedule --model test/fixtures/conformance/pipelines/tiny-sd15 --scheduler euler-a --steps 20 --plot euler-a.svg
  latentlab schedule --model stable-diffusion-v1-5/stable-diffusion-v1-5 --scheduler "DPM++ 2M Karras" --steps 25 --json`);
  return cmd.action(action<ScheduleFlags>(async (flags, session) => {
    const steps = flags.steps ?? DEFAULT_STEPS;
    const choice = await schedulerChoice(flags);
    if (flags.model === undefined && choice.source !== '--scheduler-config') {
      throw flagError('--model', '(missing)', 'a model folder or Hub id (its scheduler_config.json is the starting point)', 'or pass --scheduler-config FILE.json with a full scheduler config');
    }
    const plot = flags.plot === undefined ? undefined : await explicitTarget('--plot', flags.plot, ['.png', '.svg'], flags.overwrite ?? false);
    let folder: string | undefined;
    let modelConfig: Record<string, unknown> = {};
    if (choice.source !== '--scheduler-config') {
      folder = await resolveFolder(flags, session);
      await requirePipelineFolder(folder);
      const file = join(folder, 'scheduler', 'scheduler_config.json');
      modelConfig = fixLegacySchedulerConfig(parseJson(await readFile(file, 'utf8'), { nonFinite: true }) as Record<string, unknown>);
    }
    const scheduler = makeScheduler(modelConfig, choice.choice);
    scheduler.setTimesteps(steps);
    const report = schedulerReport(scheduler, choice.source);
    const sigmas = scheduler.sigmas ? Array.from(scheduler.sigmas) : null;
    const files: { path: string; kind: 'plot' }[] = [];
    if (plot) {
      const svg = plotSvg(scheduler, steps, report.name);
      files.push({ path: await writeTarget(plot, plot.path.toLowerCase().endsWith('.svg') ? svg : await svgToPng(svg, { scale: 2 })), kind: 'plot' });
    }

    session.print(`${report.className} (${report.name}; A1111 "${report.a1111}"), ${steps} steps, order ${scheduler.order}, initNoiseSigma ${scheduler.initNoiseSigma}`);
    session.print(`   i  ${'timestep'.padStart(10)}${sigmas ? `  ${'sigma'.padStart(12)}` : ''}`);
    const rows = Math.max(scheduler.timesteps.length, sigmas?.length ?? 0);
    for (let i = 0; i < rows; i++) {
      const t = i < scheduler.timesteps.length ? String(scheduler.timesteps[i]) : '';
      session.print(`${String(i).padStart(4)}  ${t.padStart(10)}${sigmas ? `  ${(i < sigmas.length ? sigmas[i].toPrecision(6) : '').padStart(12)}` : ''}`);
    }
    if (!sigmas) session.print(`(${report.className} works with ᾱ at integer timesteps and has no sigmas)`);
    for (const f of files) session.print(`wrote ${f.path}`);
    session.report({
      command: 'schedule', model: flags.model, folder, steps, scheduler: report, order: scheduler.order,
      timesteps: scheduler.timesteps, sigmas, initNoiseSigma: scheduler.initNoiseSigma, files: files.map((f) => ({ ...f, path: resolve(f.path) })),
    }, (v) => stringifyJson(v, { indent: 2 }));
  }));
}

/** Timesteps on the left axis, σ on the right, against the loop index. */
function plotSvg(s: Scheduler, steps: number, name: string): string {
  const series: LineSeries[] = [{ name: 'timestep t', y: s.timesteps, axis: 'left' }];
  if (s.sigmas) series.push({ name: 'sigma σ', y: s.sigmas, axis: 'right' });
  return linePlotSvg({
    series,
    title: `${s.className} (${name}), ${steps} steps`,
    xLabel: 'step index',
    yLabel: 'timestep t',
    yLabelRight: s.sigmas ? 'σ' : undefined,
  });
}
