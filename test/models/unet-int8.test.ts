// precision 'int8' (issue 16): the lowering's QDQ form, which ops it quantises, and a quantised small
// UNet against its own float32 output on the same inputs. The error bounds are the measured ones with
// headroom (printed on every run); the float32 path is the conformance suite's, unchanged.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { quantizePerChannel, roundHalfEven } from '../../src/core/quantize.js';
import { Generator } from '../../src/core/random.js';
import { Tensor } from '../../src/core/tensor.js';
import { ConfigReader } from '../../src/models/config-reader.js';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition-model.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { buildUNetGraph } from '../../src/models/unet-graph.js';
import { int8Targets } from '../../src/onnx/int8.js';
import { lowerToOnnx } from '../../src/onnx/lower.js';
import { ModelProto } from '../../src/onnx/schema.js';
import { int8CacheDir } from '../../src/platform/node/int8.js';
import { forcedCompileOptions } from '../../src/platform/node/runtime.js';
import { diff } from '../helpers/compare.js';
import { useTempDir } from '../weights/tmp.js';
import { unetConfig, writeRandomUNet } from './unet-random.js';

const tmp = useTempDir('unet-int8');
const measured: string[] = [];
let savedCache: string | undefined;
beforeAll(() => {
  savedCache = process.env.LATENTLAB_CACHE;
  process.env.LATENTLAB_CACHE = join(tmp(), 'cache');
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.LATENTLAB_CACHE;
  else process.env.LATENTLAB_CACHE = savedCache;
  console.log(`int8 UNet vs float32:\n  ${measured.join('\n  ')}`);
});

// A UNet wide enough that its convs and linears are int8 targets (≥ 64 channels), small enough to run in a second.
const raw = unetConfig({ block_out_channels: [64, 128], cross_attention_dim: 64, attention_head_dim: 4, norm_num_groups: 16 });

describe('int8 quantisation arithmetic', () => {
  it('per-channel symmetric weights: scale max|W|/127, round half to even, within half a step', () => {
    const w = Float32Array.from([0.5, -1, 0.25, 0, 0, 0, 2, 1.00787401, -0.3]);
    const { q, scales } = quantizePerChannel(w, [3, 3]);
    expect(Array.from(scales)).toEqual([Math.fround(1 / 127), 1, Math.fround(2 / 127)]); // an all-zero channel: scale 1
    expect(q[1]).toBe(-127);
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(-3.5)).toBe(-4);
    const per = w.length / 3;
    for (let o = 0; o < 3; o++) {
      for (let i = o * per; i < (o + 1) * per; i++) expect(Math.abs(q[i] * scales[o] - w[i])).toBeLessThanOrEqual(scales[o] / 2 + 1e-7);
    }
  });

  it('7-bit weights ("reduce range", for x86 without VNNI): scale max|W|/63, q within ±63, within half a step', () => {
    const w = Float32Array.from([0.5, -1, 0.25, 0, 0, 0, 2, 1.00787401, -0.3]);
    const { q, scales } = quantizePerChannel(w, [3, 3], 7);
    expect(Array.from(scales)).toEqual([Math.fround(1 / 63), 1, Math.fround(2 / 63)]);
    expect(q[1]).toBe(-63);
    expect(Math.max(...Array.from(q, Math.abs))).toBe(63);
    for (let i = 0; i < w.length; i++) expect(Math.abs(q[i] * scales[Math.floor(i / 3)] - w[i])).toBeLessThanOrEqual(scales[Math.floor(i / 3)] / 2 + 1e-7);
  });
});

describe('the int8 lowering', () => {
  const c = parseUNet2DConditionConfig(new ConfigReader(raw, 'unet/config.json'));
  const g = buildUNetGraph(c, { batch: 1, height: 16, width: 16, seqLen: 77 });

  it('quantises the large convs (static) and linears (dynamic), and keeps conv_in, conv_out, the time embedding and LoRA factors float32', () => {
    const t = int8Targets(g);
    const keys = t.map((x) => x.key);
    expect(keys).not.toContain('conv_in.weight');
    expect(keys).not.toContain('conv_out.weight');
    expect(keys.some((k) => k.startsWith('time_embedding'))).toBe(false);
    expect(keys.some((k) => k.includes('time_emb_proj'))).toBe(false); // one row per batch item
    expect(keys).toContain('down_blocks.0.resnets.0.conv1.weight');
    expect(keys).toContain('down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight');
    expect(keys).toContain('down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight'); // 77 rows of text
    expect(new Set(t.filter((x) => x.family === 'conv2d').map((x) => x.activations))).toEqual(new Set(['static']));
    expect(new Set(t.filter((x) => x.family === 'linear').map((x) => x.activations))).toEqual(new Set(['dynamic']));
  });

  it('float32 lowering has no quantisation ops; int8 emits QDQ around the convs and DynamicQuantizeLinear → MatMulInteger for the linears', () => {
    const weights = new Map([...g.weights.values()].map((d) => [d.key, new Tensor('float32', [...(d.shape as number[])])]));
    const opTypes = (bytes: Uint8Array) => new Set((ModelProto.decode(bytes) as unknown as { graph: { node: { op_type: string }[] } }).graph.node.map((n) => n.op_type));
    const fp32 = opTypes(lowerToOnnx(g, { weights, location: (f) => f }));
    for (const op of ['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'MatMulInteger']) expect(fp32.has(op), op).toBe(false);
    const targets = int8Targets(g);
    const int8 = {
      targets: new Map(targets.map((t) => [t.key, t])),
      weights: new Map(targets.map((t) => [t.key, { q: new Tensor('int8', t.family === 'linear' ? [t.shape[1], t.shape[0]] : [...t.shape]), scales: new Tensor('float32', [t.shape[0]]) }])),
      ranges: new Map(targets.map((t) => [t.key, { input: { min: -1, max: 1 }, output: { min: -1, max: 1 } }])),
    };
    const q = opTypes(lowerToOnnx(g, { weights, location: (f) => f, int8 }));
    for (const op of ['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'MatMulInteger', 'Conv', 'MultiHeadAttention', 'InstanceNormalization']) expect(q.has(op), op).toBe(true);
  });
});

describe('an int8 UNet against float32', () => {
  it('is within the measured error of float32 on the same inputs, with its int8 weights and ranges cached on disk', async () => {
    const dir = join(tmp(), 'unet');
    await writeRandomUNet(dir, raw, 41);
    const fp32 = await UNet2DConditionModel.fromPretrained(dir);
    const int8 = await UNet2DConditionModel.fromPretrained(dir, { precision: 'int8' });
    expect(int8.precision).toBe('int8');
    const g = new Generator(5);
    const ehs = g.randn([1, 77, 64]);
    int8.int8CalibrationContext = ehs;
    const rel: number[] = [];
    for (const t of [999, 500, 20]) {
      const sample = g.randn([1, 4, 16, 16]);
      const a = await fp32.forward(sample, t, ehs);
      const b = await int8.forward(sample, t, ehs);
      const d = diff(b.sample.data, a.sample.data);
      const rms = Math.sqrt(b.sample.data.reduce((s, v, i) => s + (v - a.sample.data[i]) ** 2, 0) / a.sample.data.reduce((s, v) => s + v * v, 0));
      rel.push(rms);
      measured.push(`t ${t}: relative RMS error ${rms.toExponential(2)}, max abs ${d.maxAbs.toExponential(2)} (max|out| ${d.refScale.toFixed(2)})`);
      expect(rms, `t ${t}`).toBeLessThan(0.1); // measured 4.5–5.3e-2 (random weights, every big conv and linear quantised)
      expect(rms, `t ${t}: int8 really ran (not bit-identical)`).toBeGreaterThan(1e-5);
    }
    await int8.release();
    // Where the runtime keeps them: $LATENTLAB_CACHE here, or a forced optimizedModelCache (npm run test:optimized).
    const cache = int8CacheDir(forcedCompileOptions());
    const files = readdirSync(cache);
    const weightsFile = files.find((f) => /^int8-.*\.safetensors$/.test(f))!;
    expect(weightsFile).toBeDefined();
    expect(files.some((f) => /^calibration-.*\.json$/.test(f))).toBe(true);
    // Quantised once: a second model on the same weights reuses the file.
    const before = statSync(join(cache, weightsFile)).mtimeMs;
    // The folder may be shared with other int8 tests (npm run test:optimized): no NEW file is the check.
    const int8Files = () => readdirSync(cache).filter((f) => f.startsWith('int8-')).length;
    const count = int8Files();
    const again = await UNet2DConditionModel.fromPretrained(dir, { precision: 'int8' });
    again.int8CalibrationContext = ehs;
    const sample = g.randn([1, 4, 16, 16]);
    const [x, y] = [await again.forward(sample, 300, ehs), await again.forward(sample, 300, ehs)];
    expect(Array.from(x.sample.data)).toEqual(Array.from(y.sample.data));
    expect(statSync(join(cache, weightsFile)).mtimeMs).toBe(before);
    expect(int8Files()).toBe(count);
    expect(existsSync(join(cache, weightsFile))).toBe(true);
    await again.release();
    await fp32.release();
  });
});
