// The garment classifier shipped with latentlab-mini: a small CNN in latentlab's own ops, trained
// on the tinted 32×32 Fashion-MNIST images (train/mini/). It measures the generator (class
// accuracy, a Fréchet distance in its feature space) and drives classifier guidance: its input is
// an image in the VAE's range, so ∂ log p(class | decode(x₀)) / ∂ latents flows through the decoder.
//
//   x [B, 3, 32, 32] ∈ [−1, 1]
//   conv_in 3×3 → GroupNorm → SiLU                         [B, c0, 32, 32]
//   blocks.i: 3×3 stride-2 conv → GroupNorm → SiLU         [B, c_i, 32/2^i, 32/2^i]
//   features = SiLU(fc(flatten))                           [B, hidden_size]  (keeps where things are:
//                                                          a shirt and a t-shirt differ by their sleeves)
//   logits = head(features)                                [B, num_classes]
//
// The folder holds config.json and model.safetensors (keys as below), like a diffusers component.

import { fmtShape, LatentlabError } from '../core/errors.js';
import type { WeightData } from '../core/external.js';
import type { Tensor } from '../core/tensor.js';
import { Graph, Module, Value } from '../graph/graph.js';
import type { CompiledGraph, CompileOptions } from '../graph/runtime.js';
import * as op from '../graph/ops/index.js';
import { conv2d, groupNorm, linear } from '../nn/layers.js';
import { ConfigReader } from './config-reader.js';
import { bindGraphWeights, type FromPretrainedOptions, loadComponent, SessionCache } from './pretrained.js';

export interface GarmentClassifierConfig {
  in_channels: number;
  block_out_channels: number[];
  norm_num_groups: number;
  hidden_size: number;
  num_classes: number;
  sample_size: number;
  class_names: string[];
}

export function parseGarmentClassifierConfig(r: ConfigReader): GarmentClassifierConfig {
  const c: GarmentClassifierConfig = {
    in_channels: r.int('in_channels', 3),
    block_out_channels: r.intList('block_out_channels'),
    norm_num_groups: r.int('norm_num_groups', 8),
    hidden_size: r.int('hidden_size'),
    num_classes: r.int('num_classes'),
    sample_size: r.int('sample_size'),
    class_names: Array.isArray(r.raw.class_names) ? r.raw.class_names.map(String) : [],
  };
  if (c.class_names.length !== c.num_classes) {
    throw new LatentlabError('CONFIG_FIELD', `${r.file}: class_names has ${c.class_names.length} names for num_classes = ${c.num_classes}`, { file: r.file, key: 'class_names', hint: 'list one name per class' });
  }
  return c;
}

/** The classifier on x [B, 3, S, S]: its logits [B, classes] and features [B, hidden_size]. */
export function garmentClassifier(root: Module, x: Value, c: GarmentClassifierConfig): { logits: Value; features: Value } {
  const ch = c.block_out_channels;
  const act = (m: Module, h: Value, channels: number) => op.silu(groupNorm(m.child('norm'), h, channels, c.norm_num_groups, 1e-5, 'norm_num_groups'));
  const stem = root.child('conv_in');
  let h = act(stem, conv2d(stem, x, c.in_channels, ch[0], 3, { padding: 1, origin: 'block_out_channels[0]' }), ch[0]);
  for (let i = 1; i < ch.length; i++) {
    const b = root.child('blocks').child(i - 1);
    h = act(b, conv2d(b.child('conv'), h, ch[i - 1], ch[i], 3, { padding: 1, stride: 2, origin: `block_out_channels[${i}]` }), ch[i]);
  }
  const [B, C, H, W] = h.shape as number[];
  const flat = op.reshape(h, [B, C * H * W]); // [B, c_last · (S/2^(n−1))²]
  const features = op.silu(linear(root.child('fc'), flat, C * H * W, c.hidden_size, { origin: 'block_out_channels, sample_size, hidden_size' })); // [B, hidden]
  const logits = linear(root.child('head'), features, c.hidden_size, c.num_classes, { origin: 'hidden_size, num_classes' });
  return { logits, features };
}

/** A graph with input `sample` [B, 3, S, S] and outputs `logits`, `features`. */
export function buildGarmentClassifierGraph(c: GarmentClassifierConfig, batch: number): Graph {
  const g = new Graph('garment_classifier');
  const x = g.input('sample', 'float32', [batch, c.in_channels, c.sample_size, c.sample_size]);
  const { logits, features } = garmentClassifier(new Module(g), x, c);
  g.output('logits', logits);
  g.output('features', features);
  return g;
}

/** −log p(label) per item: −Σ onehot · log softmax(logits), averaged over the batch (F.cross_entropy). */
export function crossEntropy(logits: Value, onehot: Value): Value {
  const logp = op.log(op.clamp(op.softmax(logits, -1), 1e-30, 1)); // clamped: an underflowed p would give −∞
  return op.neg(op.reduceMean(op.reduceSum(op.mul(logp, onehot), [1], false), [0], false));
}

/** The classifier with its weights: `classify` runs it (one session per batch size). */
export class GarmentClassifier {
  private constructor(
    readonly config: GarmentClassifierConfig,
    private readonly sessions: SessionCache,
    private readonly custom: SessionCache,
  ) {}

  /** A `classifier/` folder (config.json + model.safetensors), or a pipeline folder that has one. */
  static async fromPretrained(path: string, options: FromPretrainedOptions = {}): Promise<GarmentClassifier> {
    const { folder, config: reader, weights } = await loadComponent(path, 'classifier', options);
    const config = parseGarmentClassifierConfig(reader);
    const bound = bindGraphWeights(buildGarmentClassifierGraph(config, 1), weights, `classifier (${folder})`);
    const sessions = new SessionCache(bound, options);
    return new GarmentClassifier(config, sessions, sessions.forCustomGraphs());
  }

  /** images [B, 3, S, S] in [−1, 1] → logits [B, classes] and features [B, hidden_size]. */
  async classify(images: Tensor<'float32'>): Promise<{ logits: Tensor<'float32'>; features: Tensor<'float32'> }> {
    const c = this.config;
    const [B, C, H, W] = images.shape;
    if (images.rank !== 4 || C !== c.in_channels || H !== c.sample_size || W !== c.sample_size) {
      throw new LatentlabError('MODEL_INPUT', `classifier: images have shape ${fmtShape(images.shape)}; expected [batch, ${c.in_channels}, ${c.sample_size}, ${c.sample_size}]`, {
        key: 'images', hint: `pass ${c.sample_size}×${c.sample_size} images in [−1, 1], NCHW (the mini model's own size)`,
      });
    }
    const session = await this.sessions.get(`b${B}`, () => buildGarmentClassifierGraph(c, B));
    const r = await session.run({ sample: images });
    return { logits: r.logits as Tensor<'float32'>, features: r.features as Tensor<'float32'> };
  }

  /** A graph of one's own on the classifier's weights (classifier guidance: decoder + classifier + grad). */
  compileGraph(key: string, build: () => Graph, options: CompileOptions = {}): Promise<CompiledGraph> {
    return this.custom.get(key, build, options);
  }

  get weightData(): ReadonlyMap<string, WeightData> {
    return this.custom.weights;
  }

  async release(): Promise<void> {
    await this.sessions.release();
    await this.custom.release();
  }
}
