// A real redis-server (the Debian package) on a free loopback port, started and stopped by the
// tests; and `latentlab worker` / `latentlab serve` child processes (the tests' and the server
// bench's, bench/server.ts). Nothing here leaves loopback.

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

import { NODE_ARGS } from '../cli/run-cli.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface Child {
  process: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns `cmd` and resolves once its output matches `ready` (rejects if it exits first). */
export function child(cmd: string, args: string[], ready: RegExp): Promise<Child> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    const self: Child = {
      process: p, output: () => out,
      async stop(signal = 'SIGTERM') {
        if (p.exitCode === null && p.signalCode === null) p.kill(signal);
        await exited;
      },
    };
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) resolve(self);
    };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', onData);
    p.once('exit', (code) => reject(new Error(`${cmd} exited (${code}) before it was ready:\n${out}`)));
  });
}

export async function startRedis(): Promise<{ url: string; server: Child }> {
  const port = await freePort();
  const server = await child('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], /Ready to accept connections/);
  return { url: `redis://127.0.0.1:${port}`, server };
}

export function startWorkerProcess(url: string, model: string, name: string, lockMs = 3000): Promise<Child> {
  return child(process.execPath, [...NODE_ARGS, 'worker', '--queue', url, '--model', model, '--name', name, '--lock-duration', String(lockMs)], /taking jobs from/);
}

/** `latentlab serve` on a free loopback port (extra flags: `--queue URL`, …), once it listens. */
export async function startServeProcess(models: readonly string[], extra: readonly string[] = []): Promise<Child & { url: string }> {
  const port = await freePort();
  const args = [...NODE_ARGS, 'serve', ...models.flatMap((m) => ['--model', m]), '--port', String(port), ...extra];
  return { ...(await child(process.execPath, args, /latentlab: serving /)), url: `http://127.0.0.1:${port}` };
}
