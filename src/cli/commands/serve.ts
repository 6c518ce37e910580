// latentlab serve: the AUTOMATIC1111-compatible HTTP API and latentlab's job API (docs/server.md).

import { Command, Option } from 'commander';

import { action, newCommand } from '../command.js';
import { latentlabVersion } from '../metadata.js';
import type { Session } from '../session.js';
import { collectText, integerFlag, nonEmptyFlag } from '../values.js';

export interface ServeFlags {
  model: string[];
  port: number;
  listen?: boolean;
  host?: string;
  apiAuth?: string;
  apiToken?: string[];
  corsAllowOrigins?: string;
  concurrency?: number;
  maxQueue?: number;
  maxBody?: number;
  maxPixels?: number;
  maxSteps?: number;
  maxImages?: number;
  threads?: number;
  loraDir?: string;
  embeddingsDir?: string;
  queue?: string;
}

export function addServerOptions(cmd: Command): Command {
  cmd.addOption(new Option('--model <dir|file>', 'a diffusers folder or checkpoint file to serve; repeat for several (the first is the default; requests choose by name)')
    .argParser(collectText('--model', false)).makeOptionMandatory());
  cmd.addOption(new Option('--threads <n>', 'ONNX Runtime intra-op threads').argParser(integerFlag('--threads', 1)));
  cmd.addOption(new Option('--lora-dir <dir>', 'where prompt tags <lora:name:weight> find name.safetensors (as A1111\'s models/Lora; GET /sdapi/v1/loras lists it)').argParser(nonEmptyFlag('--lora-dir')));
  cmd.addOption(new Option('--embeddings-dir <dir>', 'textual-inversion embeddings for every model, each usable by its file name (A1111\'s embeddings/; GET /sdapi/v1/embeddings lists them)').argParser(nonEmptyFlag('--embeddings-dir')));
  cmd.addOption(new Option('--queue <redis-url>', 'queue jobs on BullMQ in this Redis (redis://host:port[/db]); `latentlab worker` runs them').argParser(nonEmptyFlag('--queue')));
  return cmd;
}

async function runServe(flags: ServeFlags, session: Session): Promise<void> {
  session.close(); // the server handles its own signals: SIGINT / SIGTERM stop it gracefully
  // Loaded here, not at the top: every other command starts without the server's modules (Hono, zod schemas).
  const [{ parseApiAuth }, { startServer }] = await Promise.all([import('../../server/auth.js'), import('../../server/start.js')]);
  const host = flags.host ?? (flags.listen ? '0.0.0.0' : '127.0.0.1');
  const server = await startServer({
    models: flags.model, host, port: flags.port, version: latentlabVersion(), threads: flags.threads, loraDir: flags.loraDir, embeddingsDir: flags.embeddingsDir, concurrency: flags.concurrency, queueUrl: flags.queue,
    basicAuth: flags.apiAuth === undefined ? undefined : parseApiAuth(flags.apiAuth), tokens: flags.apiToken,
    corsOrigins: flags.corsAllowOrigins?.split(',').map((s) => s.trim()).filter(Boolean),
    limits: { maxQueue: flags.maxQueue, maxBodyBytes: flags.maxBody, maxPixels: flags.maxPixels, maxSteps: flags.maxSteps, maxImages: flags.maxImages },
  });
  session.streams.stderr.write(`latentlab: serving ${server.host.models.map((m) => m.name).join(', ')} on ${server.url} (API docs: ${server.url}/docs)\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      session.streams.stderr.write(`latentlab: ${signal}: finishing the running jobs, then stopping\n`);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      void server.stop().then(resolve, resolve);
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

export function serveCommand(): Command {
  const cmd = newCommand('serve', 'serve the AUTOMATIC1111-compatible HTTP API (/sdapi/v1/*) and latentlab\'s job API (/v1/jobs)');
  addServerOptions(cmd);
  cmd.addOption(new Option('--port <n>', 'TCP port (A1111\'s --port)').argParser(integerFlag('--port', 0)).default(7860));
  cmd.addOption(new Option('--listen', 'listen on every interface (0.0.0.0) instead of 127.0.0.1 (A1111\'s --listen)'));
  cmd.addOption(new Option('--host <address>', 'listen on this address instead').argParser(nonEmptyFlag('--host')).conflicts('listen'));
  cmd.addOption(new Option('--api-auth <user:pass[,…]>', 'HTTP Basic credentials for every route (A1111\'s --api-auth)').argParser(nonEmptyFlag('--api-auth')));
  cmd.addOption(new Option('--api-token <token>', 'accept "Authorization: Bearer <token>"; repeat for several').argParser(collectText('--api-token', false)));
  cmd.addOption(new Option('--cors-allow-origins <origins>', 'comma-separated origins allowed by CORS (default: CORS off)').argParser(nonEmptyFlag('--cors-allow-origins')));
  cmd.addOption(new Option('--concurrency <n>', 'jobs run at once in this process (default 1)').argParser(integerFlag('--concurrency', 1)));
  cmd.addOption(new Option('--max-queue <n>', 'jobs waiting at most; more get 429 (default 100)').argParser(integerFlag('--max-queue', 0)));
  cmd.addOption(new Option('--max-body <bytes>', 'largest request body (default 33554432); more gets 413').argParser(integerFlag('--max-body', 1)));
  cmd.addOption(new Option('--max-pixels <n>', 'largest width × height (default 4194304)').argParser(integerFlag('--max-pixels', 64)));
  cmd.addOption(new Option('--max-steps <n>', 'most sampling steps per request (default 150)').argParser(integerFlag('--max-steps', 1)));
  cmd.addOption(new Option('--max-images <n>', 'most images per request, batch_size × n_iter (default 16)').argParser(integerFlag('--max-images', 1)));
  cmd.addHelpText('after', `
Examples:
  latentlab serve --model test/fixtures/conformance/pipelines/tiny-sd15
  curl -s localhost:7860/sdapi/v1/txt2img -H 'Content-Type: application/json' -d '{"prompt": "a red cube", "steps": 3, "width": 64, "height": 64}'
More: docs/server.md`);
  return cmd.action(action<ServeFlags>(runServe));
}
