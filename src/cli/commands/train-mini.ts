// latentlab train-mini: trains latentlab-mini (a small Stable Diffusion with its classifier) from
// Fashion-MNIST, the recipe of src/train/mini/, into a diffusers folder. Stages already done in
// --work are skipped; an interrupted stage resumes from its last checkpoint. Ctrl-C saves one.

import { join, resolve } from 'node:path';

import { type Command, Option } from 'commander';

import { DEFAULT_FASHION_MNIST_DIR, fileSystem, MINI_RECIPE, SMOKE_RECIPE, svgToPng, trainMini } from '../../node.js';
import { action, newCommand } from '../command.js';
import { StepProgress } from '../progress.js';
import { integerFlag, nonEmptyFlag, seedFlag } from '../values.js';

interface TrainMiniFlags {
  data: string;
  out: string;
  work?: string;
  seed: number | bigint;
  threads: number;
  smoke?: boolean;
  only?: 'classifier' | 'vae' | 'diffusion';
  json?: boolean;
}

export function trainMiniCommand(): Command {
  const cmd = newCommand('train-mini', 'train latentlab-mini (text-to-image on coloured Fashion-MNIST) from the data, into a diffusers folder');
  cmd.option('--data <dir>', `Fashion-MNIST's *-ubyte.gz files (apt-get install dataset-fashion-mnist)`, nonEmptyFlag('--data'), DEFAULT_FASHION_MNIST_DIR);
  cmd.option('--out <dir>', 'the model folder to write', nonEmptyFlag('--out'), 'models/latentlab-mini');
  cmd.option('--work <dir>', 'stage outputs and checkpoints (default: <out>.work)', nonEmptyFlag('--work'));
  cmd.option('--seed <s>', 'seed of everything random', seedFlag, 0);
  cmd.option('--threads <n>', 'intra-op threads (1 is fastest for these small graphs)', integerFlag('--threads', 1), 1);
  cmd.addOption(new Option('--only <stage>', 'run only this stage into --work (the stages before it must be done there); no folder is written').choices(['classifier', 'vae', 'diffusion']));
  cmd.option('--smoke', 'the minute-scale recipe of the tests (256 images, a few steps per stage)');
  cmd.option('--json', 'print one JSON object on stdout and nothing else');
  cmd.addHelpText('after', `
Example (the committed model; ~75 min on 2 cores):
  apt-get install dataset-fashion-mnist
  latentlab train-mini --out models/latentlab-mini
More: docs/latentlab-mini.md`);
  return cmd.action(action<TrainMiniFlags>(async (flags, session) => {
    session.phase = 'compute';
    let bar: StepProgress | undefined;
    const report = await trainMini({
      data: flags.data, out: resolve(flags.out), work: flags.work ? resolve(flags.work) : undefined, seed: Number(flags.seed), threads: flags.threads,
      recipe: flags.smoke ? SMOKE_RECIPE : MINI_RECIPE, only: flags.only, signal: session.signal,
      onStage: (stage, event, seconds) => {
        if (event === 'done') bar?.finish();
        bar = undefined;
        session.note(event === 'skip' ? `${stage}: done earlier, skipped` : event === 'start' ? `${stage}: started` : `${stage}: done${seconds !== undefined ? ` in ${(seconds / 60).toFixed(1)} min` : ''}`);
      },
      onProgress: (stage, p) => {
        if (!bar) {
          bar = new StepProgress(session.streams.stderr, stage);
          bar.start(p.step - 1);
        }
        const extra = Object.entries(p.values).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join('  ');
        bar.update(p.step, p.totalSteps, `loss ${p.loss.toFixed(4)}  lr ${p.lr.toPrecision(3)}  |g| ${p.gradNorm.toPrecision(3)}${extra ? `  ${extra}` : ''}`);
      },
    });
    bar?.finish();
    session.phase = 'write';
    if (flags.only) {
      session.print(`${flags.only}: ${(report.seconds[flags.only] / 60).toFixed(1)} min; output in ${resolve(flags.work ?? `${flags.out}.work`)}`);
      return;
    }
    const fs = fileSystem();
    const training = join(resolve(flags.out), 'training');
    for (const name of await fs.list(training)) {
      if (name.endsWith('-loss.svg')) await fs.writeFileAtomic(join(training, name.replace(/\.svg$/, '.png')), await svgToPng(await fs.readText(join(training, name))));
    }
    for (const [stage, s] of Object.entries(report.seconds)) session.print(`${stage}: ${(s / 60).toFixed(1)} min${report.finalLoss[stage] !== undefined ? `, final loss ${report.finalLoss[stage].toFixed(4)}` : ''}`);
    session.print(`scaling_factor ${report.scalingFactor.toPrecision(5)}; wrote ${resolve(flags.out)}`);
    session.report({ command: 'train-mini', out: resolve(flags.out), ...report }, (v) => JSON.stringify(v, null, 2));
  }));
}
