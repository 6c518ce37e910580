// Renders the pictures of docs/deep-dive.md: runs every example on the tiny model (or --model) and
// copies a selection into --out, PNGs reduced to a 256-colour palette so the repository stays
// small. To refresh the docs' pictures after changing an example, name their folder:
//
//   npx tsx examples/deep-dive/make-doc-images.ts [--model DIR|ID] [--out DIR]   (default deep-dive-out/doc-images)
//   npx tsx examples/deep-dive/make-doc-images.ts --out docs/images/deep-dive     (replaces the docs' pictures)

import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

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
import { parseExampleArgs, runIfMain } from './common.js';

/** Each example, the options it runs with here, and which of its files the docs show. */
const SECTIONS = [
  { name: '01-loop-by-hand', main: loopByHand, argv: [], keep: ['image.png'] },
  { name: '02-autoencoder', main: autoencoder, argv: [], keep: ['latent-channels.png', 'side-by-side.png'] },
  { name: '03-scheduler', main: scheduler, argv: ['--shown', '4'], keep: ['schedule.svg', 'noised.png'] },
  { name: '04-img2img-by-hand', main: img2imgByHand, argv: [], keep: ['steps.png'] },
  { name: '05-text-embeddings', main: textEmbeddings, argv: [], keep: ['swap-and-mix.png'] },
  { name: '06-similarity', main: similarity, argv: [], keep: ['token-cosine.svg', 'prompt-cosine.svg', 'token-all.png'] },
  { name: '07-unet-view', main: unetView, argv: ['--shown', '4'], keep: ['strip.png', 'predicted-noise.png'] },
  { name: '08-prompt-weights', main: promptWeights, argv: [], keep: ['weights-delta.png'] },
  { name: '09-textual-inversion', main: textualInversion, argv: [], keep: ['word-and-token.png'] },
  // The random tiny model barely reacts to the notebook's scale 200; 2000 makes the change visible.
  { name: '10-loss-guidance', main: lossGuidance, argv: ['--scale', '2000'], keep: ['comparison.png'] },
];

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, 'doc-images', {});
  // The tracked pictures in docs/images/deep-dive are replaced only when asked for by name
  // (--out docs/images/deep-dive); by default the selection goes to deep-dive-out/doc-images.
  const target = args.out;
  await mkdir(target, { recursive: true });
  const scratch = await mkdtemp(join(tmpdir(), 'deep-dive-docs-'));
  const written: string[] = [];
  try {
    for (const s of SECTIONS) {
      const model = ['--model', args.model, ...(args.variant ? ['--variant', args.variant] : [])];
      const result = await s.main([...s.argv, ...model, '--out', join(scratch, s.name)]);
      for (const file of result.files.filter((f) => s.keep.includes(basename(f)))) {
        const dest = join(target, `${s.name.slice(0, 2)}-${basename(file)}`);
        if (file.endsWith('.png')) await writeFile(dest, await sharp(file).png({ palette: true, colours: 256, effort: 10, compressionLevel: 9 }).toBuffer());
        else await copyFile(file, dest);
        written.push(dest);
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { files: written };
}

runIfMain(import.meta.url, main);
