// int8 quantisation arithmetic (the host side of CompileOptions.precision 'int8'), as ONNX's
// QuantizeLinear / DequantizeLinear define it:
//
//   q = saturate(round_half_even(x / scale) + zero_point)      x ≈ (q − zero_point) · scale
//
// Weights: symmetric, per output channel (ONNX Runtime's recommended S8S8 form): scale_o =
// max|W_o| / 127, zero point 0, q ∈ [−127, 127] (−128 left out so that −q never overflows, as ORT's
// quantiser does). With `bits: 7` ("reduce range"), q ∈ [−63, 63]: x86 CPUs without VNNI multiply
// uint8 × int8 with VPMADDUBSW, which adds two products into a saturating int16 — 2·255·127 = 64 770
// overflows it, 2·255·63 = 32 130 does not (ONNX Runtime's quantisation docs, "reduce_range").
// Activations: asymmetric uint8 from a calibrated range [min, max] that always holds
// 0 (0 must be exact: zero padding), scale = (max − min) / 255.

/** Round half to even, as ONNX's QuantizeLinear (and numpy's rint). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface PerChannelInt8 {
  /** The quantised values, in the layout of the input. */
  q: Int8Array;
  /** One scale per channel along `axis`. */
  scales: Float32Array;
}

/**
 * Symmetric per-channel int8 of `w` (shape `shape`), channels along axis 0 (PyTorch's [out, …]
 * weights), on `bits` bits (8: q ∈ [−127, 127]; 7: [−63, 63]). An all-zero channel gets scale 1
 * (any scale represents it exactly).
 */
export function quantizePerChannel(w: Float32Array, shape: readonly number[], bits: 7 | 8 = 8): PerChannelInt8 {
  const qmax = bits === 8 ? 127 : 63;
  const channels = shape[0];
  const per = w.length / channels;
  const q = new Int8Array(w.length);
  const scales = new Float32Array(channels);
  for (let o = 0; o < channels; o++) {
    let max = 0;
    for (let i = o * per; i < (o + 1) * per; i++) max = Math.max(max, Math.abs(w[i]));
    const s = Math.fround(max > 0 ? max / qmax : 1);
    scales[o] = s;
    for (let i = o * per; i < (o + 1) * per; i++) q[i] = Math.max(-qmax, Math.min(qmax, roundHalfEven(w[i] / s)));
  }
  return { q, scales };
}

export interface ActivationRange {
  min: number;
  max: number;
}

/**
 * Asymmetric uint8 parameters for values in `range` (widened to hold 0): scale = (max − min) / 255,
 * zero point round(−min / scale) ∈ [0, 255]. uint8 activations with int8 weights (U8S8) are what
 * ONNX Runtime's VNNI kernels take natively, and its QDQ propagation expects them
 * (docs/benchmarks.md#int8).
 */
export function activationParams(range: ActivationRange): { scale: number; zeroPoint: number } {
  const min = Math.min(0, range.min);
  const max = Math.max(0, range.max);
  if (!(max > min)) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((max - min) / 255);
  const zeroPoint = Math.max(0, Math.min(255, roundHalfEven(-min / scale)));
  return { scale, zeroPoint };
}

/** Merges two observed ranges (calibration over several runs). */
export function widen(a: ActivationRange | undefined, b: ActivationRange): ActivationRange {
  return a ? { min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) } : { ...b };
}
