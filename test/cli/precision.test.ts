// generate --precision int8: the run uses the int8 UNet, and its PNG says so (`Precision: int8`, a
// latentlab key) and so do the --json settings; a float32 run writes no such key, so its infotext
// keeps only the keys it had before int8 existed.
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { parseA1111Parameters, readPngText } from '../../src/node.js';
import { parseReport, runCli, tempDir, TINY_SD15 } from './run-cli.js';

const ARGS = ['--model', TINY_SD15, '--prompt', 'a red cube', '--steps', '2', '--seed', '5', '--scheduler', 'euler', '--width', '32', '--height', '32', '--json'];

describe('generate --precision', () => {
  it('records int8 in the PNG and the settings, and nothing for fp32', async () => {
    const dir = tempDir();
    const env = { LATENTLAB_CACHE: join(dir, 'cache') }; // the int8 weights and ranges land here, not in ~/.cache
    const [int8, fp32] = await Promise.all(['int8', 'fp32'].map((p) => runCli(['generate', ...ARGS, '--precision', p, '--out', join(dir, `${p}.png`)], { env })));
    expect(int8.code, int8.stderr).toBe(0);
    expect(fp32.code, fp32.stderr).toBe(0);
    expect(parseReport(int8).settings.precision).toBe('int8');
    expect(parseReport(fp32).settings).not.toHaveProperty('precision');

    const text = { int8: (await readPngText(join(dir, 'int8.png'))).parameters, fp32: (await readPngText(join(dir, 'fp32.png'))).parameters };
    expect(parseA1111Parameters(text.int8).extra?.Precision).toBe('int8');
    expect(text.int8).toMatch(/, Precision: int8, /);
    expect(text.fp32).not.toMatch(/Precision/);
    // Apart from the key, the two records are the same run's.
    expect(text.int8.replace('Precision: int8, ', '')).toBe(text.fp32);
  });
});
