// The full fuzz run of the torch / pickle / zip readers: `npm run fuzz` (10,000 cases), or
// `npm run fuzz -- --cases 50000 --seed 7`. Exits 1 on any crash or executed payload.
import '../../src/platform/node/index.js';

import { fuzzTorchReaders } from './torch-fuzz.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const cases = arg('--cases', 10_000);
const seed = arg('--seed', 1);
const report = await fuzzTorchReaders({ cases, seed, onProgress: (n) => process.stderr.write(`\r${n} / ${cases}`) });
process.stderr.write('\n');
console.log(JSON.stringify({ ...report, crashes: report.crashes.slice(0, 20) }, null, 2));
console.log(`${report.cases} cases (seed ${seed}) in ${(report.totalMs / 1000).toFixed(1)} s: ${report.accepted} read, ${report.cases - report.accepted - report.crashes.length} refused with a typed error, ${report.crashes.length} crashes; slowest ${report.slowestMs.toFixed(0)} ms; heap ≤ ${report.maxHeapMb.toFixed(0)} MB; payload executed: ${report.executed}`);
process.exitCode = report.crashes.length > 0 || report.executed ? 1 : 0;
