// latentlab worker: runs the jobs that `latentlab serve --queue redis://…` puts on BullMQ (docs/server.md).

import { type Command, Option } from 'commander';

import { action, newCommand } from '../command.js';
import { latentlabVersion } from '../metadata.js';
import type { Session } from '../session.js';
import { integerFlag, nonEmptyFlag } from '../values.js';
import { addServerOptions } from './serve.js';

interface WorkerFlags {
  model: string[];
  queue?: string;
  threads?: number;
  loraDir?: string;
  embeddingsDir?: string;
  name?: string;
  concurrency?: number;
  lockDuration?: number;
  maxPixels?: number;
}

async function runWorker(flags: WorkerFlags, session: Session): Promise<void> {
  session.close(); // SIGINT / SIGTERM: finish the running job, then stop
  if (!flags.queue) throw new Error('unreachable: --queue is mandatory');
  const { startWorker } = await import('../../server/redis-worker.js'); // BullMQ and ioredis load only for this command
  const lock = flags.lockDuration ?? 30_000;
  const w = await startWorker({
    queueUrl: flags.queue, models: flags.model, version: latentlabVersion(), name: flags.name, threads: flags.threads, loraDir: flags.loraDir, embeddingsDir: flags.embeddingsDir, concurrency: flags.concurrency,
    lockDurationMs: lock, stalledIntervalMs: Math.max(500, Math.floor(lock / 2)), maxPixels: flags.maxPixels,
  });
  session.streams.stderr.write(`latentlab: worker ${w.worker.name} taking jobs from ${flags.queue}\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      session.streams.stderr.write(`latentlab: ${signal}: finishing the running job, then stopping\n`);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      void w.stop().then(resolve, resolve);
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

export function workerCommand(): Command {
  const cmd = newCommand('worker', 'run the jobs of `latentlab serve --queue redis://…` (BullMQ); start any number, on any machines');
  addServerOptions(cmd);
  cmd.options.find((o) => o.long === '--queue')!.makeOptionMandatory();
  cmd.addOption(new Option('--name <name>', 'this worker\'s name (info.worker in results; default worker-PID)').argParser(nonEmptyFlag('--name')));
  cmd.addOption(new Option('--concurrency <n>', 'jobs at once in this worker (default 1)').argParser(integerFlag('--concurrency', 1)));
  cmd.addOption(new Option('--lock-duration <ms>', 'BullMQ lock: a job of a worker that died runs again elsewhere after this long (default 30000)').argParser(integerFlag('--lock-duration', 500)));
  cmd.addOption(new Option('--max-pixels <n>', 'largest input image, width × height (default 4194304)').argParser(integerFlag('--max-pixels', 64)));
  return cmd.action(action<WorkerFlags>(runWorker));
}
