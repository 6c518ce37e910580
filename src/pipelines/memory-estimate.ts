// How much memory a pipeline call will need, computed from the graphs it will run — before any
// ONNX Runtime session exists — so a call that cannot fit is refused with a sentence instead of
// being killed by the kernel half an hour later. The CLI checks every generation with it, the
// pipelines check every call, and a server can use `estimateCallMemory` for admission control
// (it needs only the three configs and the request, no loaded model).
//
// For one graph (estimateGraphMemory):
//   weights      Σ numel × 4 over its weights: computed in float32 (fp16 files are cast to float32
//                copies when the session is created; float32 files are mapped, and every page is
//                touched once per run, so they count too).
//   activations  the peak of the bytes of intermediate values alive at once when the nodes run in
//                build order (a value lives from its producer to its last consumer, as in ONNX
//                Runtime's memory planner). With `attention: 'plain'` each attention also holds its
//                probabilities [B, heads, Sq, Sk] (MatMul → Softmax → MatMul), which at 1024² would
//                dominate; the fused kernel (the default) works in blocks and never holds them
//                (tiny-sd15 at 1024²: 0.74 GB peak RSS, where [B, heads, S, S] alone would be 16 GiB).
// For a call (estimateCallMemory): the phases run one after another with releaseSessions (the
// default), so the peak is the largest phase (text encoder; VAE encoder for img2img; the UNet at
// batch B·2 with guidance; the VAE decoder at batch B), plus the process's own baseline.
// ONNX Runtime's arena rounds allocations up, hence the margin. Measured against peak RSS in
// docs/benchmarks.md ("Memory estimate").

import { dtypeSize } from '../core/dtype.js';
import { LatentlabError } from '../core/errors.js';
import { fmtBytes, systemResources } from '../core/system.js';
import type { Graph, Value } from '../graph/graph.js';
import { buildCLIPTextGraph, type CLIPTextConfig } from '../models/clip-text-graph.js';
import { buildUNetGraph } from '../models/unet-graph.js';
import type { UNet2DConditionConfig } from '../models/unet-config.js';
import type { AutoencoderTinyConfig } from '../models/taesd-config.js';
import { buildTinyDecoderGraph, buildTinyEncoderGraph, tinyScaleFactor } from '../models/taesd-graph.js';
import type { AutoencoderKLConfig } from '../models/vae-config.js';
import { buildVaeDecoderGraph, buildVaeEncoderGraph, vaeScaleFactor } from '../models/vae-graph.js';

/** Node, ONNX Runtime's libraries and the JS heap before any model: measured ~180 MB RSS. */
export const BASELINE_BYTES = 256 * 2 ** 20;
/** Headroom over the planned activations for the arena's rounding and per-op workspaces. */
export const ARENA_MARGIN = 1.25;

export interface GraphMemory {
  weights: number;
  activations: number;
  /** The single largest intermediate (or attention scratch), to say what dominates. */
  largest: { bytes: number; scope: string; op: string };
}

const bytesOf = (v: Value): number => {
  let n = dtypeSize(v.dtype);
  for (const d of v.shape) n *= typeof d === 'number' ? d : 1; // symbolic dims only in graphs built without sizes
  return n;
};

/** The weights and the peak live activations of a graph with concrete shapes (see the header). */
export function estimateGraphMemory(graph: Graph, attention: 'fused' | 'plain' = 'fused'): GraphMemory {
  let weights = 0;
  for (const w of graph.weights.values()) weights += w.shape.reduce((a, b) => a * b, 4);
  const lastUse = new Map<Value, number>();
  graph.nodes.forEach((node, i) => node.inputs.forEach((v) => lastUse.set(v, i)));
  for (const o of graph.outputs) lastUse.set(o.value, Infinity);
  let live = 0;
  for (const v of graph.inputs) live += bytesOf(v);
  let peak = live;
  let largest = { bytes: 0, scope: '', op: '' };
  graph.nodes.forEach((node, i) => {
    let made = 0;
    for (const v of node.outputs) made += bytesOf(v);
    let scratch = 0;
    if (node.op === 'attention' && attention === 'plain') {
      const [q, k] = node.inputs; // [B, Sq, C], [B, Sk, C]
      scratch = 4 * (q.shape[0] as number) * (node.attrs.heads as number) * (q.shape[1] as number) * (k.shape[1] as number);
    }
    peak = Math.max(peak, live + made + scratch);
    if (Math.max(made, scratch) > largest.bytes) largest = { bytes: Math.max(made, scratch), scope: node.scope, op: node.op };
    live += made;
    for (const v of new Set(node.inputs)) if (v.kind === 'node' && lastUse.get(v) === i) live -= bytesOf(v);
  });
  return { weights, activations: peak, largest };
}

export interface MemoryRequest {
  /** Images in the batch: prompts × numImagesPerPrompt. */
  batch: number;
  width: number;
  height: number;
  /** Classifier-free guidance doubles the UNet's batch. */
  guidance: boolean;
  /** img2img also runs the VAE encoder. */
  img2img?: boolean;
  /** false: every network's weights stay loaded for the whole call (PipelineLoadOptions.releaseSessions). */
  releaseSessions?: boolean;
  /** The compile option of the same name: 'plain' attention materialises its probabilities. Default 'fused'. */
  attention?: 'fused' | 'plain';
}

export interface ModelConfigs {
  unet: UNet2DConditionConfig;
  /** AutoencoderKL's config, or TAESD's (AutoencoderTiny). */
  vae: AutoencoderKLConfig | AutoencoderTinyConfig;
  textEncoder: CLIPTextConfig;
}

const isTiny = (c: ModelConfigs['vae']): c is AutoencoderTinyConfig => 'num_decoder_blocks' in c;

/** The VAE's graphs, whichever autoencoder the pipeline uses. */
function vaeGraphs(vae: ModelConfigs['vae']): { factor: number; encoder: (h: number, w: number) => Graph; decoder: (h: number, w: number) => Graph } {
  if (isTiny(vae)) {
    return { factor: tinyScaleFactor(vae), encoder: (height, width) => buildTinyEncoderGraph(vae, { batch: 1, height, width }), decoder: (height, width) => buildTinyDecoderGraph(vae, { batch: 1, height, width }) };
  }
  return { factor: vaeScaleFactor(vae), encoder: (height, width) => buildVaeEncoderGraph(vae, { batch: 1, height, width }), decoder: (height, width) => buildVaeDecoderGraph(vae, { batch: 1, height, width }) };
}

export interface PhaseMemory extends GraphMemory {
  phase: 'text_encoder' | 'vae_encoder' | 'unet' | 'vae_decoder';
  /** weights + activations × ARENA_MARGIN. */
  bytes: number;
}

export interface MemoryEstimate {
  /** Peak bytes of the call, baseline included. */
  total: number;
  /** The phase that sets the peak. */
  peak: PhaseMemory;
  phases: PhaseMemory[];
  request: MemoryRequest;
}

/** The memory a txt2img / img2img call with `request` will need (see the header). */
export function estimateCallMemory(configs: ModelConfigs, request: MemoryRequest): MemoryEstimate {
  const { unet, textEncoder } = configs;
  const vae = vaeGraphs(configs.vae);
  const [h, w] = [Math.ceil(request.height / vae.factor), Math.ceil(request.width / vae.factor)];
  const prompts = request.guidance ? 2 : 1;
  const seqLen = textEncoder.max_position_embeddings;
  // Each graph is built for ONE batch item and its activations scaled by the batch: every
  // intermediate has the batch as its first dimension, so the peak is linear in it — and a graph
  // built for a batch of 100000 would itself allocate gigabytes of constants (masks, position ids).
  type Phase = [PhaseMemory['phase'], number, () => Graph];
  const graphs: Phase[] = [
    ['text_encoder', request.batch * prompts, () => buildCLIPTextGraph(textEncoder, { batch: 1, seqLen, input: 'ids', hiddenStates: false })],
    ...(request.img2img ? [['vae_encoder', request.batch, () => vae.encoder(request.height, request.width)] as Phase] : []),
    ['unet', request.batch * prompts, () => buildUNetGraph(unet, { batch: 1, height: h, width: w, seqLen })],
    ['vae_decoder', request.batch, () => vae.decoder(h, w)],
  ];
  const phases = graphs.map(([phase, batch, build]): PhaseMemory => {
    const one = estimateGraphMemory(build(), request.attention);
    const g = { ...one, activations: one.activations * batch, largest: { ...one.largest, bytes: one.largest.bytes * batch } };
    return { phase, ...g, bytes: g.weights + g.activations * ARENA_MARGIN };
  });
  const peak = phases.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const allWeights = request.releaseSessions === false ? phases.reduce((s, p) => s + (p.phase === 'vae_encoder' ? 0 : p.weights), 0) - peak.weights : 0;
  return { total: BASELINE_BYTES + peak.bytes + allWeights, peak, phases, request };
}

/** How a caller spells the things the error talks about (the CLI passes its flags). */
export interface MemoryNames {
  size: string;
  batch: string;
  limit: string;
}

export const LIBRARY_MEMORY_NAMES: MemoryNames = { size: 'width / height', batch: 'prompt count × numImagesPerPrompt', limit: 'the memoryLimit option' };

/**
 * Throws RESOURCE_MEMORY when the estimate exceeds `limit` (a caller's cap, in bytes) or the memory
 * the machine has available now, whichever is smaller. The message gives the estimate, the phase and
 * layer that dominate, and what to change.
 */
export function checkMemory(estimate: MemoryEstimate, limit: number | undefined, names: MemoryNames = LIBRARY_MEMORY_NAMES): void {
  const available = systemResources().availableMemory();
  const cap = Math.min(limit ?? Infinity, available);
  if (estimate.total <= cap) return;
  const { request: r, peak } = estimate;
  const which = limit !== undefined && limit <= available ? `the limit of ${fmtBytes(limit)} (${names.limit})` : `the ${fmtBytes(available)} of memory available now`;
  const dominant = `${peak.largest.op} at ${peak.largest.scope || 'the top level'}`;
  throw new LatentlabError('RESOURCE_MEMORY',
    `${r.batch} image${r.batch === 1 ? '' : 's'} of ${r.width}×${r.height} need${r.batch === 1 ? 's' : ''} an estimated ${fmtBytes(estimate.total)} of memory, more than ${which}: `
    + `the ${peak.phase} needs ${fmtBytes(peak.weights)} of weights and ${fmtBytes(peak.activations)} of activations (the largest, ${fmtBytes(peak.largest.bytes)}, for ${dominant})`, {
      key: names.size,
      hint: `use a smaller ${names.size} or ${names.batch} (the memory grows with both)`
        + `${limit !== undefined && limit <= available ? `, or raise ${names.limit}` : ''}`,
    });
}
