// The notebook's first cells as panels: the tokenizer's pieces and ids, the token embeddings as a
// heat map with the cosine similarity of chosen words, and the scheduler's timesteps and σ.

import {
  cosineSimilarity, heatmapSvg, linePlotSvg, pairwiseMatrix, type Scheduler, type StableDiffusionPipeline,
} from 'latentlab/web';

import { fillTable, showSvg } from './draw.js';

/** Columns of the embedding heat map: the first dimensions (768 would not fit a panel). */
const SHOWN_DIMS = 32;

/** Fills the tokens table; returns the ids up to and including the end token. */
export async function showTokens(pipe: StableDiffusionPipeline, prompt: string): Promise<number[]> {
  const { tokenizer } = pipe;
  const ids = tokenizer.call([prompt], { padding: 'max_length', maxLength: tokenizer.modelMaxLength, truncation: true }).inputIds[0];
  const used = ids.slice(0, Math.min(ids.length, tokenizer.tokenize(prompt).length + 2)); // <start> … <end>
  const pieces = tokenizer.convertIdsToTokens(used) as string[];
  fillTable('tokens-body', used.map((id, i) => [i, pieces[i], id]));
  return used;
}

async function embeddingRows(pipe: StableDiffusionPipeline, ids: readonly number[]): Promise<Float32Array[]> {
  const emb = await pipe.textEncoder.textModel.embeddings.tokenEmbedding.forward([ids]); // [1, n, H]
  const H = emb.shape[2];
  return ids.map((_, i) => emb.data.subarray(i * H, (i + 1) * H));
}

export async function showEmbeddings(pipe: StableDiffusionPipeline, ids: readonly number[], words: readonly string[]): Promise<void> {
  const { tokenizer } = pipe;
  const rows = await embeddingRows(pipe, ids);
  const labels = (tokenizer.convertIdsToTokens(ids) as string[]).map((p, i) => `${i} ${p}`);
  showSvg('embedding-heatmap', heatmapSvg({
    values: rows.map((r) => Array.from(r.subarray(0, SHOWN_DIMS))), rowLabels: labels, colorbarLabel: 'value', cellSize: 12, annotate: false,
    title: `token embeddings [${ids.length}, ${rows[0]?.length ?? 0}] (first ${Math.min(SHOWN_DIMS, rows[0]?.length ?? 0)} dims)`,
  }));
  // Each word's first token (a multi-token word is compared by its first piece, and says so).
  const wordIds = words.map((w) => tokenizer.encode(w)[0]).filter((id) => id !== undefined);
  if (wordIds.length < 2) {
    showSvg('similarity', '<p>Enter two or more words.</p>');
    return;
  }
  const wordRows = await embeddingRows(pipe, wordIds);
  const wordLabels = words.map((w, i) => (tokenizer.encode(w).length > 1 ? `${w} (${tokenizer.convertIdsToTokens(wordIds[i])})` : w));
  showSvg('similarity', heatmapSvg({
    values: pairwiseMatrix(wordRows, cosineSimilarity), rowLabels: wordLabels, colLabels: wordLabels, annotate: true, digits: 2, range: [-1, 1],
    title: 'cosine similarity of token embeddings', cellSize: 40,
  }));
}

export function showSchedule(scheduler: Scheduler, steps: number): void {
  scheduler.setTimesteps(steps);
  const { timesteps } = scheduler;
  // σ = √((1 − ᾱ_t) / ᾱ_t) for schedulers that do not keep sigmas (DDIM, PNDM, …).
  const sigmas = scheduler.sigmas ?? Float32Array.from(timesteps, (t) => Math.sqrt((1 - scheduler.alphasCumprod[t]) / scheduler.alphasCumprod[t]));
  showSvg('schedule-plot', linePlotSvg({
    title: `${scheduler.className}, ${steps} steps`, xLabel: 'step', yLabel: 'timestep t', yLabelRight: 'noise level σ',
    series: [{ name: 'timestep', y: timesteps, markers: true }, { name: 'σ', y: sigmas.subarray(0, timesteps.length), axis: 'right', markers: true }],
    width: 520, height: 260,
  }));
}
