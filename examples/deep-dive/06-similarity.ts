// Similarity: how close are two words, or two prompts, for the text encoder? Three measures:
//   dot product a·b, cosine similarity a·b/(|a||b|), Euclidean distance |a − b|,
// tied together by |a − b|² = |a|² + |b|² − 2·a·b: the distance is the dot product corrected for the
// two lengths, and cosine is the dot product with the lengths divided out.
// Words are compared by their token embeddings [H]; prompts by their whole encodings [77, H],
// which is what the UNet sees.
//
//   npx tsx examples/deep-dive/06-similarity.ts [--words "red,pink,orange,blue,sneaker,sandal,dress,coat"] [--prompts "a photo of a red sneaker|…"]

import {
  cosineSimilarity, dot, encodePrompt, euclideanDistance, heatmapSvg, imageGrid, LatentlabError, norm, pairwiseMatrix, renderSvg, type VectorLike,
} from 'latentlab';

import { fmt, loadPipeline, OutputFolder, parseExampleArgs, runIfMain } from './common.js';

const MEASURES = { dot, cosine: cosineSimilarity, distance: euclideanDistance } as const;
type Matrices = Record<keyof typeof MEASURES, number[][]>;

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, '06-similarity', {
    words: 'red,pink,orange,blue,sneaker,sandal,dress,coat',
    prompts: 'a photo of a red sneaker|a photo of a pink sneaker|a photo of a blue sneaker|a photo of a red sandal|a blue dress|an ankle boot',
  });
  const out = await OutputFolder.create(args.out);
  const pipe = await loadPipeline(args);
  const { tokenizer, textEncoder } = pipe;

  // Words → their token embeddings (one row of the table each).
  const words = args.words.split(',').map((w) => w.trim()).filter(Boolean);
  const ids = words.map((w) => {
    const [id, ...rest] = tokenizer.encode(w);
    if (id === undefined || rest.length > 0) throw new LatentlabError('EXAMPLE_ARGUMENT', `"${w}" is not a single token`, { key: 'words', hint: 'use single-token words' });
    return id;
  });
  const tokenVectors = await Promise.all(ids.map((id) => textEncoder.textModel.embeddings.tokenEmbedding.forward([[id]]))); // [1, 1, H] each

  // Prompts → their encodings [1, 77, H], compared as vectors of 77·H numbers.
  const prompts = args.prompts.split('|').map((p) => p.trim()).filter(Boolean);
  const promptVectors = await Promise.all(prompts.map((p) => encodePrompt(tokenizer, textEncoder, [p])));

  const tokens = await compare('token embeddings', words, tokenVectors, out);
  const encodings = await compare('prompt encodings', prompts, promptVectors, out);
  console.log('|a − b|² = |a|² + |b|² − 2·a·b: the distance grows as the dot product shrinks, once the lengths are fixed;');
  console.log('cosine = a·b/(|a||b|) keeps only the angle, so for vectors of length 1 the distance is √(2 − 2·cosine).');
  await pipe.release();
  return { args, words, ids, prompts, tokens, encodings, files: out.files };
}

/** Prints a table of every pair, checks the identity, and draws a heat map per measure. */
async function compare(what: string, names: string[], vectors: VectorLike[], out: OutputFolder): Promise<Matrices & { identityError: number }> {
  const m = Object.fromEntries(Object.entries(MEASURES).map(([k, f]) => [k, pairwiseMatrix(vectors, f)])) as Matrices;
  console.log(`\n${what}: ${names.length} × ${names.length} pairs`);
  console.log(['a', 'b', 'a·b', 'cosine', '|a − b|', '√(|a|²+|b|²−2a·b)'].map((h, i) => (i < 2 ? h.padEnd(20) : h.padStart(19))).join(''));
  let identityError = 0;
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const viaDot = norm(vectors[i]) ** 2 + norm(vectors[j]) ** 2 - 2 * m.dot[i][j];
      identityError = Math.max(identityError, Math.abs(viaDot - m.distance[i][j] ** 2) / Math.max(1e-30, m.distance[i][j] ** 2));
      const cells = [m.dot[i][j], m.cosine[i][j], m.distance[i][j], Math.sqrt(Math.max(0, viaDot))].map((v) => fmt(v).padStart(19));
      console.log(`${names[i].slice(0, 19).padEnd(20)}${names[j].slice(0, 19).padEnd(20)}${cells.join('')}`);
    }
  }
  console.log(`(|a − b|² and |a|² + |b|² − 2·a·b agree to ${fmt(identityError)} relative)`);
  const slug = what.split(' ')[0];
  const svgs = [
    heatmapSvg({ values: m.dot, rowLabels: names, colLabels: names, title: `${what}: dot product` }),
    heatmapSvg({ values: m.cosine, rowLabels: names, colLabels: names, title: `${what}: cosine similarity`, range: [-1, 1] }),
    heatmapSvg({ values: m.distance, rowLabels: names, colLabels: names, title: `${what}: Euclidean distance`, colormap: 'viridis' }),
  ];
  await out.svg(`${slug}-cosine`, svgs[1]);
  await out.png(`${slug}-all`, imageGrid(await Promise.all(svgs.map((s) => renderSvg(s))), { columns: 3 }));
  return { ...m, identityError };
}

runIfMain(import.meta.url, main);
