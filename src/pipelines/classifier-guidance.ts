// Classifier guidance (Dhariwal & Nichol 2021, in the deep dive's loss-guidance form): the loss is
// the classifier's −log p(class | image) on the image the latents are heading for, so every few
// steps the latents move up ∇ log p(class | decode(x̂₀)) — through the VAE's decoder and the
// classifier, in one graph (loss-guidance.ts). An empty prompt can be steered to a chosen class.
//
//   pipe.call({ prompt: '', lossGuidance: [classifierGuidance(classifier, 'ankle boot', { scale: 10 })] })

import { fmtValue, LatentlabError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { Module, type Value } from '../graph/graph.js';
import * as op from '../graph/ops/index.js';
import { crossEntropy, garmentClassifier, type GarmentClassifier } from '../models/garment-classifier.js';
import type { LossGuidance } from './loss-guidance.js';

export interface ClassifierGuidanceOptions {
  /** Multiplies −log p before its gradient is taken (default 10: measured on latentlab-mini, larger scales change little since every step already moves by σ²·∇). */
  scale?: number;
  /** Guide every N solver steps (default 1: classifier guidance acts at every step). */
  every?: number;
}

/** A lossGuidance entry pulling the image towards class `target` (its index or its name in the classifier's config). */
export function classifierGuidance(classifier: GarmentClassifier, target: number | string, options: ClassifierGuidanceOptions = {}): LossGuidance {
  const c = classifier.config;
  const index = typeof target === 'number' ? target : c.class_names.indexOf(target);
  if (!Number.isInteger(index) || index < 0 || index >= c.num_classes) {
    throw new LatentlabError('PIPELINE_ARGUMENT', `classifierGuidance: target is ${fmtValue(target)}; expected a class index 0–${c.num_classes - 1} or one of ${c.class_names.map((n) => JSON.stringify(n)).join(', ')}`, {
      key: 'target', hint: 'name a class the classifier knows',
    });
  }
  const onehot = Array.from({ length: c.num_classes }, (_, k) => (k === index ? 1 : 0));
  const loss = (image: Value): Value => {
    const [, C, H, W] = image.shape;
    if (C !== c.in_channels || H !== c.sample_size || W !== c.sample_size) {
      throw new LatentlabError('PIPELINE_ARGUMENT', `classifierGuidance: the decoded image is ${C}×${H}×${W}; the classifier takes ${c.in_channels}×${c.sample_size}×${c.sample_size}`, {
        key: 'lossGuidance', hint: `generate at ${c.sample_size}×${c.sample_size}, the size the classifier was trained on`,
      });
    }
    const x = op.sub(op.mul(image, 2), 1); // the loss gets x/2 + 0.5; the classifier was trained on [−1, 1]
    const { logits } = garmentClassifier(new Module(image.graph), x, c);
    return op.reshape(crossEntropy(logits, image.graph.constant(Tensor.float32([1, c.num_classes], onehot))), [1]);
  };
  return { loss, scale: options.scale ?? 10, every: options.every ?? 1, weights: classifier.weightData };
}
