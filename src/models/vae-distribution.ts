// diffusers' DiagonalGaussianDistribution (models/autoencoders/vae.py, 0.27): the posterior
// q(z | x) = N(mean, diag(var)) that AutoencoderKL.encode returns as `latentDist`.
// The encoder graph already computes mean, logvar (clamped to [−30, 20]), std and var.

import { check, LatentlabError } from '../core/errors.js';
import { defaultGenerator, type Generator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';

export class DiagonalGaussianDistribution {
  /** σ² = exp(logvar) (a field named like diffusers' `var`; `var` cannot be a parameter name). */
  readonly var: Tensor<'float32'>;

  constructor(
    /** [B, L, h, w] */
    readonly mean: Tensor<'float32'>,
    /** log σ², already clamped to [−30, 20] as diffusers does. */
    readonly logvar: Tensor<'float32'>,
    /** σ = exp(0.5·logvar) */
    readonly std: Tensor<'float32'>,
    variance: Tensor<'float32'>,
  ) {
    this.var = variance;
  }

  /**
   * z = mean + std · ε with ε = randn(mean.shape, generator): ONE draw of the mean's full shape,
   * which is the first draw the img2img pipeline takes from its generator (README §10) — the next
   * draw (the noise added by the scheduler) depends on this order. With a list of generators,
   * item b uses generator b for a draw of shape [1, L, h, w] (diffusers' randn_tensor). Without
   * one, the shared `defaultGenerator` is used (as torch falls back to its global generator).
   */
  sample(generator: Generator | readonly Generator[] = defaultGenerator): Tensor<'float32'> {
    const noise = drawNoise(this.mean.shape, generator);
    const out = new Tensor('float32', this.mean.shape);
    const [m, s, e] = [this.mean.data, this.std.data, noise.data];
    // float32 arithmetic in torch's order: round(std·ε), then round(mean + that).
    for (let i = 0; i < out.size; i++) out.data[i] = m[i] + Math.fround(s[i] * e[i]);
    return out;
  }

  /** The most likely latent: the mean. */
  mode(): Tensor<'float32'> {
    return this.mean;
  }
}

function drawNoise(shape: readonly number[], generator: Generator | readonly Generator[]): Tensor<'float32'> {
  if (!Array.isArray(generator)) return (generator as Generator).randn(shape);
  const gens = generator as readonly Generator[];
  if (gens.length === 0) throw new LatentlabError('MODEL_INPUT', 'latentDist.sample: the generator list is empty', { hint: 'pass a Generator' });
  if (gens.length === 1) return gens[0].randn(shape);
  check(gens.length === shape[0], 'MODEL_INPUT', () => `latentDist.sample: ${gens.length} generators for a batch of ${shape[0]}`, {
    hint: 'pass one generator, or exactly one generator per batch item',
  });
  return Tensor.cat0(gens.map((g) => g.randn([1, ...shape.slice(1)])));
}
