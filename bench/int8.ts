// `npm run bench:int8`: ONNX Runtime's int8 kernels against fp32 on the SD 1.5 UNet's conv and Gemm
// shapes, batch 1 (few-step sampling runs without the guidance batch) — the measurement that picks
// how CompileOptions.precision 'int8' lowers each op family (docs/benchmarks.md#int8).
//
// Each variant is a one-op ONNX model written with the project's emitter and run in this process:
//   conv: fp32 Conv · QDQ S8S8 (Q/DQ around a Conv with DQ'd per-channel int8 weights; ORT fuses it to
//         QLinearConv) · QDQ U8S8 (uint8 activations) · QLinearConv written directly (QOperator form)
//   gemm: fp32 Gemm (prepacked) · QDQ S8S8 static (→ QLinearMatMul) · QDQ dynamic (DynamicQuantizeLinear
//         → DQ → MatMul, no output Q: → MatMulIntegerToFloat) · MatMulInteger + Cast + Mul written out
//         (ORT fuses it to DynamicQuantizeMatMul) · com.microsoft.DynamicQuantizeMatMul directly
// Activation ranges are the input's own min/max (ideal calibration); the error column is the RMS of
// (int8 − fp32) over the RMS of the fp32 output. Times: median and min over --runs (default 7) after a
// warm-up, with the share of the CPU other processes used meanwhile.
//
// --weight-bits 7 quantises the weights to [−63, 63] (ORT's "reduce range"): on x86 without VNNI the
// u8s8 kernels' VPMADDUBSW saturates int16 with 8-bit weights (core/quantize.ts).
//
//   npm run bench:int8 -- [--runs N] [--only conv|gemm] [--level extended|all] [--weight-bits 7|8]

import * as ort from 'onnxruntime-node';

import { activationParams, quantizePerChannel } from '../src/core/quantize.js';
import { Tensor } from '../src/core/tensor.js';
import { Emitter, valueInfo } from '../src/onnx/emitter.js';
import { IR_VERSION, ModelProto, MS_DOMAIN, OPSET } from '../src/onnx/schema.js';
import { noise } from './lib/case.js';
import { OthersCpu, waitForIdle } from './lib/machine.js';
import { median } from './lib/runner.js';

type Build = (e: Emitter, x: string) => string;
type Level = 'disabled' | 'basic' | 'extended' | 'all';
interface Variant { name: string; build: Build; level?: Level }

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(flag('runs') ?? 7);
const ONLY = flag('only');
const LEVEL = (flag('level') ?? 'all') as Level;
const BITS = Number(flag('weight-bits') ?? 8) as 7 | 8;
if (BITS !== 7 && BITS !== 8) throw new Error(`--weight-bits must be 7 or 8, got ${flag('weight-bits')}`);

function model(e: Emitter, input: [string, number[]], output: string): Uint8Array {
  e.nodes.push({ input: [output], output: ['y'], name: 'out', op_type: 'Identity', attribute: [] });
  const m = {
    ir_version: IR_VERSION, producer_name: 'latentlab-bench', opset_import: [{ domain: '', version: OPSET }, { domain: MS_DOMAIN, version: 1 }],
    graph: { name: 'int8', node: e.nodes, initializer: e.initializers, input: [valueInfo(input[0], 'float32', input[1])], output: [{ name: 'y' }] },
  };
  return ModelProto.encode(ModelProto.fromObject(m)).finish();
}

const f32 = (shape: number[], data: Float32Array) => new Tensor('float32', shape, data);
const i8 = (shape: number[], data: Int8Array) => new Tensor('int8', shape, data);
const u8 = (shape: number[], data: Uint8Array) => new Tensor('uint8', shape, data);

function range(t: Tensor<'float32'>): { min: number; max: number } {
  let [min, max] = [Infinity, -Infinity];
  for (const v of t.data) [min, max] = [Math.min(min, v), Math.max(max, v)];
  return { min, max };
}

/** Quantise-dequantise `x` with int8 (signed) or uint8 activation parameters for `r`. */
function qdq(e: Emitter, x: string, r: { min: number; max: number }, unsigned: boolean): string {
  const { scale, zeroPoint } = activationParams(r);
  const zp = unsigned ? e.constant(u8([], Uint8Array.of(zeroPoint))) : e.constant(i8([], Int8Array.of(zeroPoint - 128)));
  const s = e.float(scale);
  return e.op('DequantizeLinear', [e.op('QuantizeLinear', [x, s, zp]), s, zp]);
}

/** DequantizeLinear of per-channel int8 weights along `axis` (the weights stored as int8 initializers). */
function dqWeight(e: Emitter, w: Tensor<'float32'>, transposeTo?: number[]): string {
  const { q, scales } = quantizePerChannel(w.data, w.shape, BITS);
  let shape = [...w.shape];
  let data = q;
  let axis = 0;
  if (transposeTo) { // [N, K] → [K, N] for MatMul: channels on axis 1
    const [n, k] = w.shape;
    data = new Int8Array(q.length);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) data[j * n + i] = q[i * k + j];
    shape = [k, n];
    axis = 1;
  }
  return e.op('DequantizeLinear', [e.constant(i8(shape, data)), e.constant(f32([scales.length], scales)), e.constant(i8([scales.length], new Int8Array(scales.length)))], { axis });
}

function convVariants(w: Tensor<'float32'>, b: Tensor<'float32'>, xr: { min: number; max: number }, yr: { min: number; max: number }): Variant[] {
  const k = w.shape[2];
  const attrs = { kernel_shape: [k, k], pads: Array<number>(4).fill((k - 1) / 2) };
  const qdqConv = (unsigned: boolean): Build => (e, x) => qdq(e, e.op('Conv', [qdq(e, x, xr, unsigned), dqWeight(e, w), e.constant(b)], attrs), yr, unsigned);
  return [
    { name: 'fp32 Conv', build: (e, x) => e.op('Conv', [x, e.constant(w), e.constant(b)], attrs) },
    { name: 'QDQ S8S8 → QLinearConv', build: qdqConv(false) },
    { name: 'QDQ U8S8 → QLinearConv', build: qdqConv(true) },
    {
      name: 'QLinearConv (QOperator)', build: (e, x) => {
        const a = activationParams(xr); const c = activationParams(yr);
        const { q, scales } = quantizePerChannel(w.data, w.shape, BITS);
        const [xs, xz, ys, yz] = [e.float(a.scale), e.constant(u8([], Uint8Array.of(a.zeroPoint))), e.float(c.scale), e.constant(u8([], Uint8Array.of(c.zeroPoint)))];
        const bias = Int32Array.from(b.data, (v, o) => Math.round(v / (a.scale * scales[o])));
        const qy = e.op('QLinearConv', [e.op('QuantizeLinear', [x, xs, xz]), xs, xz, e.constant(i8([...w.shape], q)), e.constant(f32([scales.length], scales)),
          e.constant(i8([scales.length], new Int8Array(scales.length))), ys, yz, e.constant(new Tensor('int32', [bias.length], bias))], attrs);
        return e.op('DequantizeLinear', [qy, ys, yz]);
      },
    },
  ];
}

function gemmVariants(w: Tensor<'float32'>, b: Tensor<'float32'>, xr: { min: number; max: number }, yr: { min: number; max: number }): Variant[] {
  const [n, k] = w.shape;
  const { q, scales } = quantizePerChannel(w.data, w.shape, BITS);
  const qT = new Int8Array(q.length);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) qT[j * n + i] = q[i * k + j];
  const dynamicParts = (e: Emitter, x: string) => e.node('DynamicQuantizeLinear', [x], {}, 3);
  return [
    { name: 'fp32 Gemm (prepacked)', build: (e, x) => e.op('Gemm', [x, e.constant(w), e.constant(b)], { transB: 1 }) },
    { name: 'QDQ S8S8 static → QLinearMatMul', build: (e, x) => qdq(e, e.op('Add', [e.op('MatMul', [qdq(e, x, xr, false), dqWeight(e, w, [k, n])]), e.constant(b)]), yr, false) },
    {
      name: 'QDQ dynamic → MatMulIntegerToFloat', build: (e, x) => {
        const [xq, s, zp] = dynamicParts(e, x);
        return e.op('Add', [e.op('MatMul', [e.op('DequantizeLinear', [xq, s, zp]), dqWeight(e, w, [k, n])]), e.constant(b)]);
      },
    },
    {
      name: 'MatMulInteger+Cast+Mul (→ DynQMatMul)', build: (e, x) => {
        const [xq, s, zp] = dynamicParts(e, x);
        const acc = e.op('MatMulInteger', [xq, e.constant(i8([k, n], qT)), zp, e.constant(i8([n], new Int8Array(n)))]);
        const scaled = e.op('Mul', [e.op('Cast', [acc], { to: 1 }), e.op('Mul', [s, e.constant(f32([n], scales))])]);
        return e.op('Add', [scaled, e.constant(b)]);
      },
    },
    {
      name: 'com.microsoft.DynamicQuantizeMatMul', build: (e, x) => e.op('DynamicQuantizeMatMul',
        [x, e.constant(i8([k, n], qT)), e.constant(f32([n], scales)), e.constant(i8([n], new Int8Array(n))), e.constant(b)], {}, MS_DOMAIN),
    },
  ];
}

interface Shape { kind: 'conv' | 'gemm'; label: string; x: number[]; w: number[]; gflop: number }
const convShape = (c: number, o: number, hw: number, k = 3): Shape => ({ kind: 'conv', label: `conv ${k}×${k} ${c}→${o} @${hw}²`, x: [1, c, hw, hw], w: [o, c, k, k], gflop: (2 * o * c * k * k * hw * hw) / 1e9 });
const gemmShape = (m: number, kk: number, n: number, what: string): Shape => ({ kind: 'gemm', label: `${what} ${m}×${kk} · ${kk}×${n}`, x: [m, kk], w: [n, kk], gflop: (2 * m * kk * n) / 1e9 });
const SHAPES: Shape[] = [
  convShape(320, 320, 64), convShape(640, 640, 32), convShape(1280, 1280, 16), convShape(1280, 1280, 8), convShape(640, 320, 64, 1),
  gemmShape(4096, 320, 320, 'to_q'), gemmShape(4096, 320, 2560, 'GEGLU'), gemmShape(4096, 1280, 320, 'ff.net.2'), gemmShape(1024, 640, 640, 'to_q'), gemmShape(256, 1280, 10240, 'GEGLU'),
].filter((s) => !ONLY || s.kind === ONLY);

async function time(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, level: Level): Promise<{ med: number; min: number; out: Float32Array; others?: number }> {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: level, extra: { session: { intra_op: { allow_spinning: '0' } } } });
  const out = (await s.run(feeds)).y.data as Float32Array;
  await waitForIdle(20);
  const probe = new OthersCpu();
  const ts: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await s.run(feeds);
    ts.push(performance.now() - t0);
  }
  const others = probe.stop();
  await s.release();
  return { med: median(ts), min: Math.min(...ts), out, others };
}

function relRms(a: Float32Array, ref: Float32Array): number {
  let [d, r] = [0, 0];
  for (let i = 0; i < ref.length; i++) [d, r] = [d + (a[i] - ref[i]) ** 2, r + ref[i] ** 2];
  return Math.sqrt(d / r);
}

async function main(): Promise<void> {
  console.log(`int8 vs fp32, onnxruntime-node ${ort.env.versions.common ?? ''}, level ${LEVEL}, ${BITS}-bit weights, ${RUNS} runs; ${new Date().toISOString()}`);
  console.log(['shape', 'variant', 'median ms', 'min ms', 'GOP/s', '× fp32', 'rel RMS err', 'others'].join(' | '));
  for (const sh of SHAPES) {
    const fanIn = sh.w.slice(1).reduce((a, b) => a * b, 1);
    const w = noise(sh.w, 1 / Math.sqrt(fanIn), 3);
    const b = noise([sh.w[0]], 0.1, 4);
    const x = noise(sh.x, 1, 5);
    const feeds = { x: new ort.Tensor('float32', x.data, sh.x) };
    // The output range for static variants: the fp32 output's own.
    const fp = sh.kind === 'conv' ? convVariants(w, b, range(x), { min: 0, max: 0 })[0] : gemmVariants(w, b, range(x), { min: 0, max: 0 })[0];
    const e0 = new Emitter();
    const fpRun = await time(model(e0, ['x', sh.x], fp.build(e0, 'x')), feeds, LEVEL);
    const yr = range(f32([fpRun.out.length], fpRun.out));
    const variants = sh.kind === 'conv' ? convVariants(w, b, range(x), yr) : gemmVariants(w, b, range(x), yr);
    for (const v of variants) {
      const e = new Emitter();
      let r: Awaited<ReturnType<typeof time>>;
      try {
        r = v === variants[0] ? fpRun : await time(model(e, ['x', sh.x], v.build(e, 'x')), feeds, v.level ?? LEVEL);
      } catch (err) {
        console.log([sh.label, v.name, `failed: ${(err as Error).message.split('\n')[0]}`].join(' | '));
        continue;
      }
      console.log([sh.label, v.name, r.med.toFixed(2), r.min.toFixed(2), (sh.gflop / (r.med / 1000)).toFixed(0), (fpRun.med / r.med).toFixed(2),
        v === variants[0] ? '—' : relRms(r.out, fpRun.out).toExponential(1), r.others === undefined ? '?' : `${(100 * r.others).toFixed(0)}%`].join(' | '));
    }
  }
}

await main();
