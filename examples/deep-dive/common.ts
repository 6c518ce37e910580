// Plumbing the deep-dive examples share, kept out of them so they read like the notebook:
// command-line options, the model and image they start from, the output folder, number formatting.
// Nothing here is Stable Diffusion; every example's substance is in its own file.

import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import {
  defaultModelPath, type LabelledImage, LatentlabError, readImage, renderLabels, resizeImage, type RgbImage, StableDiffusionPipeline, svgToPng, type TensorStats,
  upscaleNearest, writePng,
} from 'latentlab';

/** latentlab-mini, the model latentlab trains and ships (models/latentlab-mini): real garments, 32×32, offline. */
export const MINI_MODEL = defaultModelPath();
/** The tiny random-weight model of the test fixtures (the conformance comparisons run on it): pictures are noise. */
export const TINY_MODEL = fileURLToPath(new URL('../../test/fixtures/conformance/pipelines/tiny-sd15', import.meta.url));
/** A 64×64 test picture from the fixtures (the tiny model's reference img2img input). */
export const FIXTURE_IMAGE = fileURLToPath(new URL('../../test/fixtures/conformance/reference/tiny-sd15/img2img/sd15_pndm_img2img_64x64_input.png', import.meta.url));
/** The sample pictures (examples/deep-dive/images, made by make-sample-images.ts from the Fashion-MNIST test split). */
export const sampleImage = (name: string): string => fileURLToPath(new URL(`images/${name}`, import.meta.url));

export interface CommonArgs {
  /** A diffusers folder or a Hub id (`stable-diffusion-v1-5/stable-diffusion-v1-5`). */
  model: string;
  /** Where the pictures go. */
  out: string;
  /** Weight variant, e.g. "fp16" (smaller download; computed in float32). */
  variant?: string;
}

type Defaults = Record<string, string | number>;
type Parsed<D extends Defaults> = { [K in keyof D]: D[K] extends number ? number : string };

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Parses `--model`, `--out`, `--variant` and the example's own options (`startStep` is
 * `--start-step`); numbers in `defaults` make number options. `--help` prints them and exits.
 */
export function parseExampleArgs<D extends Defaults>(argv: readonly string[], section: string, defaults: D): CommonArgs & Parsed<D> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { model: { type: 'string' }, out: { type: 'string' }, variant: { type: 'string' }, help: { type: 'boolean' } };
  for (const key of Object.keys(defaults)) options[kebab(key)] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new LatentlabError('EXAMPLE_ARGUMENT', `${section}: ${(e as Error).message}`, { hint: usage(defaults) });
  }
  if (values.help) {
    console.log(usage(defaults));
    process.exit(0);
  }
  const parsed: Record<string, string | number | undefined> = {
    model: (values.model as string | undefined) ?? MINI_MODEL,
    out: resolve((values.out as string | undefined) ?? join('deep-dive-out', section)),
    variant: values.variant as string | undefined,
  };
  for (const [key, fallback] of Object.entries(defaults)) {
    const given = values[kebab(key)] as string | undefined;
    if (given === undefined) parsed[key] = fallback;
    else if (typeof fallback === 'string') parsed[key] = given;
    else {
      const n = Number(given);
      if (given.trim() === '' || !Number.isFinite(n)) throw new LatentlabError('EXAMPLE_ARGUMENT', `--${kebab(key)} is ${JSON.stringify(given)}; expected a number`, { key, hint: usage(defaults) });
      parsed[key] = n;
    }
  }
  return parsed as CommonArgs & Parsed<D>;
}

function usage(defaults: Defaults): string {
  const own = Object.entries(defaults).map(([k, v]) => `  --${kebab(k)} ${JSON.stringify(v)}`);
  return ['options (with defaults):', '  --model <folder or Hub id>  (latentlab-mini, the shipped model)', '  --variant <e.g. fp16>', '  --out <folder>  (deep-dive-out/<section>)', ...own].join('\n');
}

/** The whole pipeline, with the LMS scheduler the notebook uses; its parts carry the notebook's names. */
export async function loadPipeline(args: CommonArgs): Promise<StableDiffusionPipeline> {
  return StableDiffusionPipeline.fromPretrained(args.model, { variant: args.variant, scheduler: 'lms' });
}

/** An image file, resized to size×size unless it already is that size (sides must be multiples of 8). */
export async function loadImage(path: string, size: number): Promise<RgbImage> {
  const image = await readImage(path);
  if (image.width === size && image.height === size) return image;
  console.log(`resizing ${basename(path)} from ${image.width}×${image.height} to ${size}×${size}`);
  return resizeImage(image, size, size);
}

/** Small pictures (the mini model's 32×32) blown up with square pixels to at least 256 px, so they can be seen. */
export function enlarge(image: RgbImage, minSide = 256): RgbImage {
  const k = Math.ceil(minSide / Math.min(image.width, image.height));
  return k > 1 ? upscaleNearest(image, k) : image;
}

/** The output folder: every picture written through it is listed in `files`. */
export class OutputFolder {
  readonly files: string[] = [];

  private constructor(readonly dir: string) {}

  static async create(dir: string): Promise<OutputFolder> {
    await mkdir(dir, { recursive: true });
    return new OutputFolder(dir);
  }

  /** Writes `name.png`; a labelled grid gets its labels drawn in. */
  async png(name: string, picture: RgbImage | LabelledImage): Promise<string> {
    const image = 'labels' in picture ? await renderLabels(picture) : picture;
    return this.record(`${name}.png`, (path) => writePng(path, image));
  }

  /** Writes `name.svg` and, for image viewers, `name.png` rendered from it. */
  async svg(name: string, svg: string): Promise<string> {
    await this.record(`${name}.png`, async (path) => writeFile(path, await svgToPng(svg)));
    return this.record(`${name}.svg`, (path) => writeFile(path, svg, 'utf8'));
  }

  private async record(file: string, write: (path: string) => Promise<void>): Promise<string> {
    const path = join(this.dir, file);
    await write(path);
    this.files.push(path);
    return path;
  }
}

/** 4 significant digits, exponent for tiny and huge values. */
export function fmt(v: number, digits = 4): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  return Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5 ? v.toExponential(digits - 1) : String(Number(v.toPrecision(digits)));
}

export function fmtStats(s: TensorStats): string {
  return `mean ${fmt(s.mean)}  std ${fmt(s.std)}  min ${fmt(s.min)}  max ${fmt(s.max)}`;
}

/** Runs `main` when the file is executed (`npx tsx examples/deep-dive/x.ts`), not when imported by a test. */
export function runIfMain(moduleUrl: string, main: (argv: string[]) => Promise<unknown>): void {
  if (process.argv[1] === undefined || pathToFileURL(resolve(process.argv[1])).href !== moduleUrl) return;
  main(process.argv.slice(2)).then((result) => {
    // Say where the pictures went (every example returns the files it wrote).
    const files = (result as { files?: string[] } | undefined)?.files ?? [];
    if (files.length > 0) console.log(`\nwrote ${files.length} file${files.length === 1 ? '' : 's'}:\n  ${files.join('\n  ')}`);
  }, (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
