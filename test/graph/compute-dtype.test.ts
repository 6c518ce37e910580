// computeDtype 'float16' (graph/compute-dtype.ts): which nodes of a real UNet graph run in float16
// and which stay float32, that the lowering then keeps float16 weights 16-bit (no Cast after them),
// and what it does to the shipped model's pictures on onnxruntime-node's CPU EP — which has no
// float16 Conv/Gemm kernels on x86 and runs the graph by casting around them, so this checks the
// graph, not a speed or memory gain (docs/platforms.md#float16-compute).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { toFloat16Compute } from '../../src/graph/compute-dtype.js';
import { ConfigReader } from '../../src/models/config-reader.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { buildUNetGraph } from '../../src/models/unet-graph.js';
import { lowerToOnnx } from '../../src/onnx/lower.js';
import { ModelProto } from '../../src/onnx/schema.js';
import { StableDiffusionPipeline } from '../../src/node.js';
import { defaultModelPath } from '../../src/pipelines/default-model.js';
import { fixturePath } from '../helpers/fixtures.js';
import { pixelDifference } from '../helpers/pixels.js';

const raw = JSON.parse(readFileSync(join(fixturePath('pipelines', 'tiny-sd15'), 'unet', 'config.json'), 'utf8'));
const unet = buildUNetGraph(parseUNet2DConditionConfig(new ConfigReader(raw, 'unet/config.json')), { batch: 1, height: 16, width: 16, seqLen: 77 });

interface Proto { graph: { node: { op_type: string; input: string[]; attribute: { name: string; i?: number | { toNumber(): number } }[] }[]; initializer: { name: string; data_type: number }[]; input: { name: string; type: { tensor_type: { elem_type: number } } }[]; output: { type: { tensor_type: { elem_type: number } } }[] } }
const decode = (bytes: Uint8Array) => ModelProto.decode(bytes) as unknown as Proto;
const castTo = (n: Proto['graph']['node'][number]) => Number(n.attribute.find((a) => a.name === 'to')?.i);

describe('computeDtype float16', () => {
  const half = toFloat16Compute(unet);

  it('keeps the interface float32, runs convs/linears/attention in float16, norms, softmax and the timestep embedding in float32', () => {
    expect(half.inputs.map((v) => `${v.name}:${v.dtype}`)).toEqual(unet.inputs.map((v) => `${v.name}:${v.dtype}`));
    expect(half.outputs.map((o) => o.value.dtype)).toEqual(unet.outputs.map((o) => o.value.dtype));
    expect(new Set([...half.weights.values()].map((w) => w.dtype))).toEqual(new Set(['float16']));
    const dtypesOf = (op: string, which: 'inputs' | 'outputs') => new Set(half.nodes.filter((n) => n.op === op).flatMap((n) => n[which].filter((v) => v.dtype.startsWith('float')).map((v) => v.dtype)));
    for (const op of ['conv2d', 'linear', 'attention']) expect(dtypesOf(op, 'outputs'), op).toEqual(new Set(['float16']));
    for (const op of ['groupNorm', 'layerNorm']) expect(dtypesOf(op, 'inputs'), op).toEqual(new Set(['float32']));
    // sin/cos(t·f) of the timestep embedding: weight-free, so float32 as in diffusers.
    for (const op of ['sin', 'cos']) expect(dtypesOf(op, 'outputs'), op).toEqual(new Set(['float32']));
  });

  it('lowers float16 conv/linear weights as they are (no Cast after them), float32 ones through one Cast to float16', () => {
    const data = (dtype: 'float16' | 'float32') => new Map([...unet.weights.values()].map((d) => [d.key, new Tensor(dtype, [...(d.shape as number[])])]));
    const keys = new Set(unet.weights.keys());
    const castsOfWeights = (p: Proto) => p.graph.node.filter((n) => n.op_type === 'Cast' && keys.has(n.input[0]));
    const f16 = decode(lowerToOnnx(unet, { weights: data('float16'), location: (f) => f, computeDtype: 'float16' }));
    expect(new Set(f16.graph.initializer.filter((t) => keys.has(t.name)).map((t) => t.data_type))).toEqual(new Set([10]));
    // Only the norms' 1-D scales and shifts are cast (to float32, for the float32 norms): a few kB.
    const casts = castsOfWeights(f16).map((n) => ({ key: n.input[0], rank: unet.weights.get(n.input[0])!.shape.length, to: castTo(n) }));
    expect(casts.filter((c) => c.rank !== 1 || c.to !== 1 || !/norm/.test(c.key))).toEqual([]);
    expect(casts.length).toBeGreaterThan(0);
    expect(f16.graph.input.map((i) => i.type.tensor_type.elem_type)).toEqual(unet.inputs.map(() => 1));
    expect(new Set(f16.graph.output.map((o) => o.type.tensor_type.elem_type))).toEqual(new Set([1]));
    const f32File = decode(lowerToOnnx(unet, { weights: data('float32'), location: (f) => f, computeDtype: 'float16' }));
    expect(castsOfWeights(f32File).length).toBe(keys.size);
    expect(new Set(castsOfWeights(f32File).map(castTo))).toEqual(new Set([10]));
    // The default (float32 compute) on a float16 file: a Cast to float after each weight, as before.
    const f32 = decode(lowerToOnnx(unet, { weights: data('float16'), location: (f) => f }));
    expect(new Set(castsOfWeights(f32).map(castTo))).toEqual(new Set([1]));
  });

  it('refuses an unknown compute dtype and the combinations it does not support', () => {
    const weights = new Map([...unet.weights.values()].map((d) => [d.key, new Tensor('float32', [...(d.shape as number[])])]));
    const lower = (o: object) => () => lowerToOnnx(unet, { weights, location: (f) => f, ...o });
    expect(lower({ computeDtype: 'bfloat16' })).toThrow(/computeDtype is "bfloat16"; expected "float32" or "float16"/);
    expect(lower({ computeDtype: 'float16', trainable: ['conv_in.weight'] })).toThrow(/cannot be combined with trainable weights/);
  });

  it("gives the shipped model's picture within a few levels of float32 (onnxruntime-node CPU EP)", { timeout: 300_000 }, async () => {
    const call = { prompt: 'a photo of a red sneaker', numInferenceSteps: 4, guidanceScale: 7.5, seed: 7 };
    const fp32 = await StableDiffusionPipeline.fromPretrained(defaultModelPath());
    const a = (await fp32.call(call)).images[0];
    await fp32.release();
    const fp16 = await StableDiffusionPipeline.fromPretrained(defaultModelPath(), { computeDtype: 'float16' });
    const b = (await fp16.call(call)).images[0];
    await fp16.release();
    const d = pixelDifference(a, b);
    const mean = a.data.reduce((s, v, i) => s + Math.abs(v - b.data[i]), 0) / a.data.length;
    console.log(`latentlab-mini, float16 vs float32 compute, 4 steps: ${d.maxLevels} levels max, ${(d.fractionOff * 100).toFixed(2)}% of values off, mean ${mean.toFixed(3)} levels`);
    expect(d.fractionOff).toBeGreaterThan(0); // float16 did run: its rounding shows
    expect(d.maxLevels).toBeLessThanOrEqual(3);
    expect(mean).toBeLessThanOrEqual(0.2);
  });
});
