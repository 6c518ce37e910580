// One textual-inversion training step as ONE graph (diffusers examples/textual_inversion, the
// body of its training loop), forward and backward:
//
//   ehs  = text_encoder(input_ids) with the new token rows E [n, H] as an input      [B, 77, H]
//   pred = unet(noisy_latents, t, ehs)                                                [B, 4, h, w]
//   loss = mean((pred − target)²)          target: the noise ε (or v for v-prediction)
//   grad = ∂loss/∂E                                                                   [n, H]
//
// Only E is differentiated: grad() marks what depends on E, so the frozen UNet and text encoder get
// no weight gradients (their weights stay memory-mapped in the checkpoint). The rows reach the
// encoder through the 'select' lookup (clip-text-graph.ts), so their gradient is an [n, H] scatter,
// not one into the whole [V + n, H] table.

import { grad } from '../graph/autodiff/grad.js';
import { Graph } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import { buildCLIPTextGraph, type CLIPTextConfig } from '../models/clip-text-graph.js';
import type { UNet2DConditionConfig } from '../models/unet-config.js';
import { buildUNetGraph } from '../models/unet-graph.js';

export interface TextualInversionStepShape {
  batch: number;
  /** Latent height and width (resolution / 8). */
  height: number;
  width: number;
  /** Rows being learned (num_vectors). */
  numVectors: number;
  /** Default 'select' (see the header); 'concat' is the inference graph's lookup, kept for comparison. */
  lookup?: 'concat' | 'select';
}

/**
 * Inputs: input_ids [B, 77] int64, added_token_embeddings [n, H], sample [B, 4, h, w] (noisy
 * latents), timestep [B], target [B, 4, h, w]. Outputs: loss [] and grad [n, H].
 */
export function buildTextualInversionStepGraph(text: CLIPTextConfig, unet: UNet2DConditionConfig, s: TextualInversionStepShape): Graph {
  const g = new Graph('textual_inversion_step');
  const seqLen = text.max_position_embeddings;
  buildCLIPTextGraph(text, { batch: s.batch, seqLen, input: 'ids', hiddenStates: false, addedTokens: s.numVectors, addedLookup: s.lookup ?? 'select', graph: g });
  const rows = g.inputs.find((v) => v.name === 'added_token_embeddings')!;
  const ehs = g.outputs.find((o) => o.name === 'last_hidden_state')!.value; // [B, 77, H]
  buildUNetGraph(unet, { batch: s.batch, height: s.height, width: s.width, seqLen, into: { graph: g, encoderHiddenStates: ehs } });
  const pred = g.outputs.find((o) => o.name === 'out')!.value; // [B, 4, h, w]
  const target = g.input('target', 'float32', pred.shape);
  const err = op.sub(pred, target);
  const loss = op.reduceMean(op.mul(err, err), [0, 1, 2, 3], false); // F.mse_loss(pred, target, reduction="mean")
  g.output('loss', loss);
  g.output('grad', grad(loss, [rows])[0]);
  return g;
}
