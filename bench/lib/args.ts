// Command-line options of `npm run bench -- [options]`.

import { parseArgs } from 'node:util';

export interface BenchArgs {
  only: string[] | undefined;
  runs: number | undefined;
  /** undefined: each case's own (1 for most). */
  warmup: number | undefined;
  /** JSON compile options merged over the library defaults for model sessions. */
  compile: string | undefined;
  /** JSON pipeline options for the txt2img / startup cases. */
  pipeline: string | undefined;
  json: boolean;
  idleWait: number;
  peak: boolean;
  /** Run model and pipeline cases each in a fresh process (default), so peak RSS is theirs alone. */
  isolate: boolean;
  list: boolean;
  help: boolean;
}

export const USAGE = `usage: npm run bench -- [options]

  --only NAME[,NAME…]  run only these cases (see --list); the peak probe still runs first so
                       fractions of peak come from the same run (add --no-peak to skip it)
  --runs N             timed runs per case (default: each case's own, 5 for most)
  --warmup N           untimed runs before timing (default: each case's own; 1 for most, as the
                       first run grows the arena; 0 for txt2img, whose run creates its sessions)
  --compile JSON       compile options for every model session, merged over the library's
                       defaults, e.g. '{"optimizationLevel":"all","prepacking":true}'
  --pipeline JSON      extra StableDiffusionPipeline.fromPretrained options (txt2img, startup)
  --idle-wait S        wait up to S seconds for other processes to use < 8% CPU before timing
                       each case (default 20; 0 = do not wait)
  --no-peak            skip the peak probe
  --no-isolate         run model cases in this process too (by default each runs in a fresh
                       process, so memory earlier cases leave behind does not count in its peak RSS)
  --json               print one JSON object {machine, peakGflops, results:[…]} instead of a table
  --list               list the cases and exit

model cases take their workload from the name, so other sizes need no code: unet-<px>-b<batch>,
text-encoder-b<batch>, vae-decode-<px>, vae-encode-<px>, txt2img-<px>-<n>steps, startup-512;
append -fp16 to load the fp16-variant files. They run on a random-weight SD 1.5 pipeline written
once to .cache/latentlab-bench/sd15-random ($LATENTLAB_BENCH_CACHE overrides .cache/latentlab-bench).
`;

function count(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      only: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      compile: { type: 'string' },
      pipeline: { type: 'string' },
      'idle-wait': { type: 'string' },
      'no-peak': { type: 'boolean', default: false },
      'no-isolate': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  return {
    only: values.only?.split(',').map((s) => s.trim()).filter(Boolean),
    runs: count('runs', values.runs, 1),
    warmup: count('warmup', values.warmup, 0),
    compile: values.compile,
    pipeline: values.pipeline,
    idleWait: count('idle-wait', values['idle-wait'], 0) ?? 20,
    peak: !values['no-peak'],
    isolate: !values['no-isolate'],
    json: values.json,
    list: values.list,
    help: values.help,
  };
}
