// The fuzz's inputs: a seeded generator and pools of flag / option values, valid and invalid mixed.
// Valid values stay small (the tiny model, ≤ 128², ≤ 3 steps) so a valid case runs in about a
// second; the huge ones come in combinations that must be refused (100000 images, 100000²), never
// as a valid-but-endless run. `--guidance 1e308` counts as invalid: it must end in NUMERIC_NONFINITE.

export { mulberry32 } from '../helpers/seeded-random.js';

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)];

const TEXTS = ['a cat', '', ' ', 'x '.repeat(200), '\u0007\u001b[31mred', 'emoji 😀 ünïcödé', 'Negative prompt: y', 'Steps: 9, Sampler: Euler, CFG scale: 3'];

/** Each flag's values: [valid, invalid]; `(dir) => …` values are paths in the case's own folder. */
type Pool = readonly (string | ((dir: string) => string))[];
const FLAGS: Record<string, readonly [Pool, Pool]> = {
  '--negative-prompt': [TEXTS, []],
  '--steps': [['1', '2', '3'], ['0', '-1', '2.5', '1e1', 'abc', '1001', '99999999999999999999', '']],
  '--guidance': [['7.5', '1', '0', '-5', '30'], ['1e308', 'NaN', 'Infinity', 'abc']],
  '--seed': [['0', '1', '18446744073709551615'], ['18446744073709551616', '-1', '1.5', 'abc']],
  '--scheduler': [['euler-a', 'Euler a', 'ddim', 'heun', 'unipc', 'DPM++ 2M Karras'], ['nope', '']],
  '--eta': [['0'], ['0.5', '-1', 'abc']],
  '--clip-skip': [['0', '1'], ['5', '-1']],
  '--threads': [['1', '2', '100000'], ['0']],
  '--max-memory': [['8G'], ['1M', 'abc', '0']],
  '--revision': [[], ['main']],
  '--device': [['cpu'], ['tpu', 'cuda']],
  '--save-latents': [[(d) => `${d}/z.safetensors`], [(d) => d, 'z.png', (d) => `${d}/missing/z.safetensors`]],
  '--scheduler-config': [[], [(d) => d, (d) => `${d}/nope.json`]],
  '--stpes': [[], ['2']],
};

const SIZES: readonly [readonly (readonly [string, string] | undefined)[], readonly (readonly [string, string])[]] = [
  [undefined, ['64', '64'], ['8', '8'], ['128', '64']],
  [['60', '64'], ['0', '64'], ['-8', '64'], ['abc', '64'], ['100000', '100000']],
];

/**
 * One `generate` command line (without --model and --out): a few flags, of which none (about a
 * third of the cases, which must then succeed), one or two take an invalid value.
 */
export function cliCase(random: () => number): { args: (dir: string) => string[] } {
  const prompts = Array.from({ length: 1 + Math.floor(random() * 2) }, () => pick(random, TEXTS));
  const flags = Object.keys(FLAGS).filter((f) => random() < (FLAGS[f][0].length === 0 ? 0.08 : 0.3)); // flags with no valid value: rarely
  const bad = new Set<string>();
  for (let n = Math.floor(random() * 3); n > 0; n--) bad.add(pick(random, [...flags, '--width', '--num-images']));
  const value = (f: string) => {
    const [valid, invalid] = FLAGS[f];
    return pick(random, bad.has(f) || valid.length === 0 ? (invalid.length > 0 ? invalid : valid) : valid);
  };
  const size = bad.has('--width') ? pick(random, SIZES[1]) : pick(random, SIZES[0]);
  // 100000 images only at the default size: refused for memory (at 8×8 it would fit, and run for hours).
  const numImages = bad.has('--num-images') ? pick(random, ['0', '-1', 'abc', '100000']) : pick(random, ['1', '2']);
  const steps = flags.includes('--steps') ? [] : ['--steps', pick(random, ['1', '2'])];
  const chosen = flags.map((f) => [f, value(f)] as const);
  return {
    args: (dir) => [
      ...prompts.flatMap((p) => ['--prompt', p]), ...steps, '--num-images', numImages,
      ...(size && numImages !== '100000' ? ['--width', size[0], '--height', size[1]] : []),
      ...chosen.flatMap(([f, v]) => [f, typeof v === 'function' ? v(dir) : v]),
    ],
  };
}

/** Each option's values: [valid, invalid]. Unknown names (`steps`, `negative_prompt`) only come as invalid. */
const OPTIONS: Record<string, readonly [readonly unknown[], readonly unknown[]]> = {
  prompt: [['a cat', ['a', 'b'], '', 'emoji 😀'], [[], 123, null, ['a', 3]]],
  negativePrompt: [['x', ''], [5, ['x', 'y', 'z']]],
  numInferenceSteps: [[1, 2], [0, -1, 2.5, NaN, Infinity, '2', 1001]],
  guidanceScale: [[1, 7.5, 0, -3], [1e308, NaN, '7']],
  numImagesPerPrompt: [[1, 2], [0, 1.5]],
  seed: [[0, 1, 2 ** 53 - 1, 18446744073709551615n], [-1, 1.5, 2n ** 64n]],
  eta: [[0, 0.5], [-1, NaN]],
  clipSkip: [[0, 1], [5, -1]],
  outputType: [['pil', 'latent'], ['np']],
  memoryLimit: [[1e12], [1, -5]],
  size: [[[64, 64], [8, 8], [128, 64]], [[60, 64], [0, 64], [64, -8], [NaN, 64], [100000, 100000]]],
  steps: [[], [2]],
  negative_prompt: [[], ['x']],
};

/** One options object for `pipe.call`: a few options, none (about a third of the cases), one or two of them invalid. */
export function libraryCase(random: () => number): Record<string, unknown> {
  const keys = ['prompt', ...Object.keys(OPTIONS).filter((k) => k !== 'prompt' && random() < (OPTIONS[k][0].length === 0 ? 0.05 : 0.3))];
  const bad = new Set<string>();
  for (let n = Math.floor(random() * 3); n > 0; n--) bad.add(pick(random, keys));
  const o: Record<string, unknown> = { numInferenceSteps: 1 };
  for (const k of keys) {
    const [valid, invalid] = OPTIONS[k];
    const v = pick(random, bad.has(k) || valid.length === 0 ? invalid : valid);
    if (k === 'size') [o.width, o.height] = v as [number, number];
    else o[k] = v;
  }
  return o;
}
