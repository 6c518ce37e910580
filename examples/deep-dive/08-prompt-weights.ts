// Prompt weights: what "(cat:1.5)" does to the [77, H] encoding the UNet listens to. The text
// encoder runs on the prompt WITHOUT the markup — the weight never enters the transformer — and
// then each token's output row is changed afterwards:
//   A1111:   z' = z · w for the weighted tokens, then everything times r = mean(z) / mean(z')
//   ComfyUI: z' = e + (z − e) · w, where e is the empty prompt's row at the same position
// The heat maps show z' − z, row by row (tokens) and column by column (hidden dimensions).
//
//   npx tsx examples/deep-dive/08-prompt-weights.ts [--prompt "a photo of a red sneaker"] [--word red] [--weight 1.5]

import { encodeScheduledPrompt, heatmapSvg, imageGrid, LatentlabError, renderSvg, type Tensor } from 'latentlab';

import { fmt, loadPipeline, OutputFolder, parseExampleArgs, runIfMain } from './common.js';

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, '08-prompt-weights', { prompt: 'a photo of a red sneaker', word: 'red', weight: 1.5, columns: 32 });
  const out = await OutputFolder.create(args.out);
  const pipe = await loadPipeline(args);
  const { tokenizer, textEncoder } = pipe;

  // The same words twice: plain, and with the word weighted in A1111's syntax.
  const words = args.prompt.split(' ');
  if (!words.includes(args.word)) throw new LatentlabError('EXAMPLE_ARGUMENT', `"${args.word}" is not a word of "${args.prompt}"`, { key: 'word', hint: 'choose a word of the prompt' });
  const weighted = words.map((w) => (w === args.word ? `(${w}:${args.weight})` : w)).join(' ');
  const encode = async (prompt: string, syntax: 'a1111' | 'comfy') => (await encodeScheduledPrompt(tokenizer, textEncoder, prompt, { steps: 1, syntax })).embeds[0];
  const z = await encode(args.prompt, 'a1111'); // [1, 77, H]; weights of 1 change nothing
  const a1111 = await encode(weighted, 'a1111');
  const comfy = await encode(weighted, 'comfy');

  // Rows to show: bos, the prompt's tokens, eos and two padding rows; the first `columns` dimensions.
  const ids = [tokenizer.bosTokenId, ...tokenizer.encode(args.prompt), tokenizer.eosTokenId];
  const rows = Math.min(77, ids.length + 2);
  const labels = Array.from({ length: rows }, (_, i) => (i < ids.length ? tokenizer.convertIdsToTokens(ids[i]) : '(padding)'));
  const H = z.shape[2];
  const cols = Math.min(args.columns, H);
  const delta = (t: Tensor<'float32'>) => Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => t.data[i * H + j] - z.data[i * H + j]));
  const dA = delta(a1111);
  const dC = delta(comfy);

  // What the numbers say: the weighted row is scaled by w·r, every other row by r alone.
  const at = ids.indexOf(tokenizer.encode(args.word)[0]);
  const ratio = (t: Tensor<'float32'>, row: number) => t.data[row * H] / z.data[row * H];
  const r = ratio(a1111, 0);
  console.log(`"${weighted}": A1111 scales the ${args.word} row by ${fmt(ratio(a1111, at))} = ${args.weight} × r and every other row by r = mean(z)/mean(z') = ${fmt(r)}`);
  console.log(`ComfyUI moves only the ${args.word} row: max |Δ| there ${fmt(Math.max(...dC[at].map(Math.abs)))}, elsewhere ${fmt(Math.max(...dC.filter((_, i) => i !== at).flat().map(Math.abs)))}`);

  const range = Math.max(...[...dA, ...dC].flat().map(Math.abs));
  const colLabels = Array.from({ length: cols }, (_, j) => (j % 8 === 0 ? String(j) : ''));
  const svgs = [
    heatmapSvg({ values: dA, rowLabels: labels, colLabels, title: `A1111: z' − z for (${args.word}:${args.weight})`, range: [-range, range], annotate: false, colorbarLabel: 'Δ' }),
    heatmapSvg({ values: dC, rowLabels: labels, colLabels, title: `ComfyUI: z' − z for (${args.word}:${args.weight})`, range: [-range, range], annotate: false, colorbarLabel: 'Δ' }),
  ];
  await out.svg('a1111-delta', svgs[0]);
  await out.png('weights-delta', imageGrid(await Promise.all(svgs.map((s) => renderSvg(s))), { columns: 2 }));
  console.log(`heat maps: ${out.files.join(', ')}`);
  await pipe.release();
  return { args, weighted, z, a1111, comfy, wordRow: at, meanRatio: r, files: out.files };
}

runIfMain(import.meta.url, main);
