// docs/server.md's curl lines and JavaScript client, run against a live server on loopback (the
// docs' port 7860 replaced by the test server's), so the documentation cannot rot.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { RunningServer } from '../../src/server/start.js';
import { tempDir } from '../cli/run-cli.js';
import { CONFORMANCE } from '../helpers/fixtures.js';
import { start } from './helpers.js';

const run = promisify(execFile);
const DOC = readFileSync(join(CONFORMANCE, '..', '..', '..', 'docs', 'server.md'), 'utf8');
const block = (lang: string) => [...DOC.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);

let server: RunningServer;
beforeAll(async () => {
  server = await start();
});
afterAll(async () => server?.stop());

describe('docs/server.md examples', () => {
  it('each curl line answers', async () => {
    const lines = block('bash').join('\n').split('\n').filter((l) => l.startsWith('curl '));
    expect(lines.length).toBe(3);
    for (const line of lines) {
      const { stdout } = await run('bash', ['-c', `set -o pipefail; ${line.replaceAll('http://127.0.0.1:7860', server.url)}`]);
      expect(stdout.length, line).toBeGreaterThan(10);
      if (line.includes('/v1/jobs')) expect(JSON.parse(stdout).state).toBe('queued');
    }
  });

  it('the JavaScript client queues a job, follows its events and saves the image', async () => {
    const [js] = block('js');
    const dir = tempDir('latentlab-docs-');
    writeFileSync(join(dir, 'client.mjs'), js.replaceAll('http://127.0.0.1:7860', server.url));
    const { stdout } = await run(process.execPath, ['client.mjs'], { cwd: dir });
    expect(stdout).toMatch(/^queued [0-9a-f-]{36} at position \d/);
    expect(stdout).toMatch(/step 4\/4/);
    expect(stdout).toMatch(/seed 7 → cube.png/);
    expect(existsSync(join(dir, 'cube.png'))).toBe(true);
  });
});
