// torch.optim.AdamW (PyTorch 1.13, foreach=False, amsgrad=False) on host float32 tensors.
//
// Per element, at step k = 1, 2, … with m = v = 0 at the start (Loshchilov & Hutter's decoupled
// weight decay, then Adam):
//   p ← p·(1 − lr·λ)
//   m ← β₁·m + (1 − β₁)·g            v ← β₂·v + (1 − β₂)·g²
//   p ← p − (lr / (1 − β₁ᵏ)) · m / (√v / √(1 − β₂ᵏ) + ε)
// Every tensor operation rounds to float32 as torch's CPU kernels do (Python scalars become
// float32 operands; the bias corrections are computed in double, as torch does in Python).

import { LatentlabError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';

export interface AdamWOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

const f = Math.fround;

export class AdamW {
  readonly lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** Steps taken (torch's state["step"]). */
  stepCount = 0;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();

  /** `params` are updated in place by step(); defaults are torch's (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2). */
  constructor(
    readonly params: ReadonlyMap<string, Tensor<'float32'>>,
    options: AdamWOptions = {},
  ) {
    this.lr = options.lr ?? 1e-3;
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 1e-2;
    const bad = [['lr', this.lr], ['eps', this.eps], ['weightDecay', this.weightDecay]].find(([, x]) => !(Number(x) >= 0));
    if (bad) throw new LatentlabError('TRAIN_OPTION', `AdamW: ${bad[0]} must be a number ≥ 0, got ${bad[1]}`);
    if (!this.betas.every((b) => b >= 0 && b < 1)) throw new LatentlabError('TRAIN_OPTION', `AdamW: betas must be in [0, 1), got ${JSON.stringify(this.betas)}`);
    for (const [k, p] of params) {
      this.m.set(k, new Float32Array(p.data.length));
      this.v.set(k, new Float32Array(p.data.length));
    }
  }

  /** The moments m (torch's exp_avg) and v (exp_avg_sq) of a parameter, for checkpoints. */
  moments(key: string): { m: Float32Array; v: Float32Array } {
    const m = this.m.get(key);
    const v = this.v.get(key);
    if (!m || !v) throw new LatentlabError('TRAIN_STATE', `AdamW: no parameter "${key}"`, { key });
    return { m, v };
  }

  /** Restores a checkpoint's state: the step count and each parameter's moments (copied in). */
  loadState(stepCount: number, moments: ReadonlyMap<string, { m: ArrayLike<number>; v: ArrayLike<number> }>): void {
    for (const [key, { m, v }] of moments) {
      const own = this.moments(key);
      if (m.length !== own.m.length || v.length !== own.v.length) {
        throw new LatentlabError('TRAIN_STATE', `AdamW: the saved moments of "${key}" have ${m.length} elements, the parameter ${own.m.length}`, { key });
      }
      own.m.set(m);
      own.v.set(v);
    }
    this.stepCount = stepCount;
  }

  /** One update of every parameter from its gradient (same keys and shapes as the parameters). */
  step(grads: ReadonlyMap<string, Tensor>, lr = this.lr): void {
    for (const [k, p] of this.params) {
      const g = grads.get(k);
      if (!g || g.data.length !== p.data.length) {
        throw new LatentlabError('TRAIN_GRADIENT', `AdamW: ${g ? `the gradient of "${k}" has ${g.data.length} elements, the parameter ${p.data.length}` : `no gradient for "${k}"`}`, { key: k });
      }
    }
    this.stepCount++;
    const [b1, b2] = this.betas;
    const k = this.stepCount;
    const decay = f(1 - lr * this.weightDecay);
    const stepSize = lr / (1 - b1 ** k);
    const bc2Sqrt = f(Math.sqrt(1 - b2 ** k));
    const [fb1, fb2, gb1, gb2, eps, negStep] = [f(b1), f(b2), f(1 - b1), f(1 - b2), f(this.eps), f(-stepSize)];
    for (const [key, p] of this.params) {
      const g = grads.get(key)!.data as ArrayLike<number>;
      const m = this.m.get(key)!;
      const v = this.v.get(key)!;
      const x = p.data;
      for (let i = 0; i < x.length; i++) {
        const gi = g[i];
        x[i] = f(x[i] * decay);
        m[i] = f(f(m[i] * fb1) + f(gi * gb1));
        v[i] = f(f(v[i] * fb2) + f(f(gi * gi) * gb2));
        const denom = f(f(f(Math.sqrt(v[i])) / bc2Sqrt) + eps);
        x[i] = f(x[i] + f(negStep * f(m[i] / denom)));
      }
    }
  }
}
