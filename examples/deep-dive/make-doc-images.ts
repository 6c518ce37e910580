// Renders the pictures of docs/deep-dive.md: runs every example on latentlab-mini (or --model) and
// copies a selection into --out, PNGs reduced to a 256-colour palette so the repository stays
// small. Section 13 runs before section 9, which loads the token 13 has just learned. To refresh
// the docs' pictures after changing an example, name their folder:
//
//   npx tsx examples/deep-dive/make-doc-images.ts [--model DIR|ID] [--out DIR]   (default deep-dive-out/doc-images)
//   npx tsx examples/deep-dive/make-doc-images.ts --out docs/images/deep-dive     (replaces the docs' pictures)

import { copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { resolveModelPath } from 'latentlab';
import sharp from 'sharp';

import { main as loopByHand } from './01-loop-by-hand.js';
import { main as autoencoder } from './02-autoencoder.js';
import { main as scheduler } from './03-scheduler.js';
import { main as img2imgByHand } from './04-img2img-by-hand.js';
import { main as textEmbeddings } from './05-text-embeddings.js';
import { main as similarity } from './06-similarity.js';
import { main as unetView } from './07-unet-view.js';
import { main as promptWeights } from './08-prompt-weights.js';
import { main as textualInversion } from './09-textual-inversion.js';
import { main as lossGuidance } from './10-loss-guidance.js';
import { main as trainTextualInversion } from './11-train-textual-inversion.js';
import { main as classifierGuidance } from './12-classifier-guidance.js';
import { main as learnAColour } from './13-learn-a-colour.js';
import { parseExampleArgs, runIfMain } from './common.js';

/** Each example, the options it runs with here, and which of its files the docs show (in the order they run). */
interface Section {
  name: string;
  main: (argv: string[]) => Promise<{ files: string[] }>;
  argv: (scratch: string) => string[];
  keep: string[];
  /** Needs latentlab-mini: its classifier (12), its 32×32 sample garments (13) or a token learned on it (9). */
  miniOnly?: boolean;
}

const SECTIONS: Section[] = [
  { name: '01-loop-by-hand', main: loopByHand, argv: () => [], keep: ['image.png'] },
  { name: '02-autoencoder', main: autoencoder, argv: () => [], keep: ['latent-channels.png', 'side-by-side.png'] },
  { name: '03-scheduler', main: scheduler, argv: () => ['--shown', '4'], keep: ['schedule.svg', 'noised.png'] },
  { name: '04-img2img-by-hand', main: img2imgByHand, argv: () => [], keep: ['steps.png'] },
  { name: '05-text-embeddings', main: textEmbeddings, argv: () => [], keep: ['swap-and-mix.png'] },
  { name: '06-similarity', main: similarity, argv: () => [], keep: ['token-cosine.svg', 'prompt-cosine.svg', 'token-all.png'] },
  { name: '07-unet-view', main: unetView, argv: () => ['--shown', '4'], keep: ['strip.png', 'predicted-noise.png'] },
  { name: '08-prompt-weights', main: promptWeights, argv: () => [], keep: ['weights-delta.png'] },
  { name: '13-learn-a-colour', main: learnAColour, argv: () => [], keep: ['before-and-after.png', 'training-images.png', 'loss.svg'], miniOnly: true },
  { name: '09-textual-inversion', main: textualInversion, argv: (scratch) => ['--embedding', join(scratch, '13-learn-a-colour', 'learned_embeds.safetensors')], keep: ['word-and-token.png'], miniOnly: true },
  { name: '10-loss-guidance', main: lossGuidance, argv: () => [], keep: ['comparison.png'] },
  { name: '11-train-textual-inversion', main: trainTextualInversion, argv: () => [], keep: ['loss.svg', 'initializer-and-token.png'] },
  { name: '12-classifier-guidance', main: classifierGuidance, argv: () => [], keep: ['unguided-and-guided.png'], miniOnly: true },
];

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, 'doc-images', {});
  // The tracked pictures in docs/images/deep-dive are replaced only when asked for by name
  // (--out docs/images/deep-dive); by default the selection goes to deep-dive-out/doc-images.
  const target = args.out;
  await mkdir(target, { recursive: true });
  const scratch = await mkdtemp(join(tmpdir(), 'deep-dive-docs-'));
  const written: string[] = [];
  const folder = await resolveModelPath(args.model, { variant: args.variant });
  const isMini = await stat(join(folder, 'classifier', 'config.json')).then(() => true, () => false);
  try {
    for (const s of SECTIONS) {
      if (s.miniOnly && !isMini) {
        console.log(`skipping ${s.name}: it needs latentlab-mini (see docs/deep-dive.md for running it on SD 1.5)`);
        continue;
      }
      const model = ['--model', args.model, ...(args.variant ? ['--variant', args.variant] : [])];
      const result = await s.main([...s.argv(scratch), ...model, '--out', join(scratch, s.name)]);
      for (const file of result.files.filter((f) => s.keep.includes(basename(f)))) {
        const dest = join(target, `${s.name.slice(0, 2)}-${basename(file)}`);
        if (file.endsWith('.png')) await writeFile(dest, await forDocs(file));
        else await copyFile(file, dest);
        written.push(dest);
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { files: written };
}

/** A PNG for the docs: a lone 32×32 picture enlarged 6× with square pixels (browsers would blur it), then a 256-colour palette. */
async function forDocs(file: string): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(file).metadata();
  const k = Math.max(1, Math.floor(192 / Math.max(width, height)));
  const image = k > 1 ? sharp(file).resize(width * k, height * k, { kernel: 'nearest' }) : sharp(file);
  return image.png({ palette: true, colours: 256, effort: 10, compressionLevel: 9 }).toBuffer();
}

runIfMain(import.meta.url, main);
