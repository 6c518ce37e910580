// The Fréchet distance between two sets of feature vectors, each summarised as a Gaussian
// (Heusel et al. 2017, the "FID" when the features are Inception's; here the garment classifier's):
//
//   d² = ‖μ₁ − μ₂‖² + tr(Σ₁) + tr(Σ₂) − 2 · tr((Σ₁ Σ₂)^½)
//
// tr((Σ₁Σ₂)^½) is computed as Σ √λᵢ over the eigenvalues of the symmetric S Σ₂ S, S = Σ₁^½
// (same spectrum as Σ₁Σ₂, and no complex square roots from rounding), with ml-matrix's
// symmetric eigendecomposition. Accumulated in float64.

import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

import { LatentlabError } from '../../core/errors.js';

export interface Gaussian {
  mean: Float64Array;
  cov: Matrix;
  count: number;
}

/** Mean and (unbiased) covariance of `count` rows of `dim` features, row-major. */
export function featureGaussian(features: ArrayLike<number>, dim: number): Gaussian {
  const count = features.length / dim;
  if (!Number.isInteger(count) || count < 2) {
    throw new LatentlabError('EVAL_ARGUMENT', `featureGaussian: ${features.length} values are not ≥ 2 rows of ${dim} features`, { hint: 'pass at least two feature vectors' });
  }
  const mean = new Float64Array(dim);
  for (let r = 0; r < count; r++) for (let j = 0; j < dim; j++) mean[j] += features[r * dim + j] / count;
  const cov = new Matrix(dim, dim);
  for (let r = 0; r < count; r++) {
    for (let i = 0; i < dim; i++) {
      const di = features[r * dim + i] - mean[i];
      for (let j = i; j < dim; j++) cov.set(i, j, cov.get(i, j) + di * (features[r * dim + j] - mean[j]));
    }
  }
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const v = cov.get(i, j) / (count - 1);
      cov.set(i, j, v);
      cov.set(j, i, v);
    }
  }
  return { mean, cov, count };
}

/** √ of a symmetric positive semi-definite matrix (negative rounding eigenvalues clamped to 0). */
function sqrtPsd(m: Matrix): Matrix {
  const e = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const U = e.eigenvectorMatrix;
  const d = e.realEigenvalues.map((x) => Math.sqrt(Math.max(0, x)));
  return U.mmul(Matrix.diag(d)).mmul(U.transpose());
}

export function frechetDistance(a: Gaussian, b: Gaussian): number {
  let meanTerm = 0;
  for (let i = 0; i < a.mean.length; i++) meanTerm += (a.mean[i] - b.mean[i]) ** 2;
  const s = sqrtPsd(a.cov);
  const m = s.mmul(b.cov).mmul(s);
  const sym = m.add(m.transpose()).div(2); // symmetric up to rounding
  const eig = new EigenvalueDecomposition(sym, { assumeSymmetric: true }).realEigenvalues;
  const trSqrt = eig.reduce((acc, x) => acc + Math.sqrt(Math.max(0, x)), 0);
  return meanTerm + a.cov.trace() + b.cov.trace() - 2 * trSqrt;
}
