// The UNet builders on configs the fixtures do not cover: other widths, head counts (int, list, not
// dividing the width), layers_per_block lists, transformer depth, both projections, 2 and 3 levels,
// non-SD switches (freq_shift 1, [sin, cos], downsample_padding 0, center_input_sample, other
// kernels, mid_block_scale_factor), and odd latent sizes. Random seeded weights are written with the
// project's safetensors writer and loaded with fromPretrained; every run is checked for shape and
// finiteness, fused against plain attention, and against an independent float64 reference.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { Generator } from '../../src/core/random.js';
import type { Tensor } from '../../src/core/tensor.js';
import { ConfigReader } from '../../src/models/config-reader.js';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition-model.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { buildUNetGraph } from '../../src/models/unet-graph.js';
import { diff } from '../helpers/compare.js';
import { loadTensors, readJson } from '../helpers/fixtures.js';
import { useTempDir } from '../weights/tmp.js';
import { unetConfig, writeRandomUNet } from './unet-random.js';
import { referenceUNet } from './unet-reference.js';

const tmp = useTempDir('unet-generalisation');
const measured: string[] = [];
afterAll(() => console.log(`UNet generalisation, max errors relative to max|out|:\n  ${measured.join('\n  ')}`));

// float32 graph vs float64 reference, relative to the output's max |value|. The fixture configs
// measure ~1e-6 here; 1e-4 leaves room for deeper random nets without hiding a wrong operation.
const REL = 1e-4;

const CONFIGS: { name: string; raw: Record<string, unknown>; sizes: [number, number][]; batch: number }[] = [
  {
    name: '3 levels, heads [2, 5, 3] (5 does not divide 16), conv projections, layers [1, 2, 1]',
    raw: unetConfig({
      block_out_channels: [8, 16, 24],
      down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
      up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
      attention_head_dim: [2, 5, 3],
      layers_per_block: [1, 2, 1],
      norm_num_groups: 4,
    }),
    sizes: [[7, 9], [5, 5], [16, 24]],
    batch: 2,
  },
  {
    name: '2 levels, linear projections, 1 head, transformer depth [1, 2], cross-attention everywhere',
    raw: unetConfig({
      block_out_channels: [16, 24],
      down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
      up_block_types: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
      attention_head_dim: 1,
      transformer_layers_per_block: [1, 2],
      use_linear_projection: true,
      upcast_attention: true,
      layers_per_block: 2,
      norm_num_groups: 8,
      cross_attention_dim: 8,
    }),
    sizes: [[7, 9], [1, 1], [4, 6]],
    batch: 1,
  },
  {
    name: 'non-SD switches: freq_shift 1, [sin, cos], downsample_padding 0, centred input, kernels 1/5, mid scale 2, time_embedding_dim 20, num_attention_heads',
    raw: unetConfig({
      block_out_channels: [8, 8, 16],
      down_block_types: ['CrossAttnDownBlock2D', 'DownBlock2D', 'CrossAttnDownBlock2D'],
      up_block_types: ['CrossAttnUpBlock2D', 'UpBlock2D', 'CrossAttnUpBlock2D'],
      attention_head_dim: null,
      num_attention_heads: [4, 2, 2],
      in_channels: 3,
      out_channels: 5,
      norm_num_groups: 2,
      freq_shift: 1,
      flip_sin_to_cos: false,
      downsample_padding: 0,
      center_input_sample: true,
      conv_in_kernel: 1,
      conv_out_kernel: 5,
      mid_block_scale_factor: 2,
      time_embedding_dim: 20,
    }),
    sizes: [[7, 9], [16, 24]],
    batch: 2,
  },
];

function randn(g: Generator, shape: number[]): Tensor<'float32'> {
  return g.randn(shape);
}

describe('UNet2DConditionModel on random configs', () => {
  CONFIGS.forEach((cfg, ci) => {
    it(cfg.name, async () => {
      const dir = join(tmp(), `config-${ci}`);
      const weights = await writeRandomUNet(dir, cfg.raw, 100 + ci);
      const fused = await UNet2DConditionModel.fromPretrained(dir, { attention: 'fused' });
      const plain = await UNet2DConditionModel.fromPretrained(dir, { attention: 'plain' });
      const g = new Generator(7 + ci);
      const c = fused.config;
      try {
        for (const [h, w] of cfg.sizes) {
          const B = cfg.batch;
          const sample = randn(g, [B, c.in_channels, h, w]);
          const ehs = randn(g, [B, 5, c.cross_attention_dim[0]]);
          const t = B === 1 ? [421.5] : [999, 3];
          const a = await fused.forward(sample, t, ehs);
          const b = await plain.forward(sample, t, ehs);
          expect([...a.sample.shape], `${h}×${w}`).toEqual([B, c.out_channels, h, w]);
          expect(a.sample.data.every(Number.isFinite), 'finite').toBe(true);
          const fp = diff(a.sample.data, b.sample.data);
          const ref = diff(a.sample.data, referenceUNet(cfg.raw, weights, sample, t, ehs));
          measured.push(`config ${ci} ${h}×${w}: fused vs plain ${fp.maxRel.toExponential(2)}, fused vs float64 reference ${ref.maxRel.toExponential(2)} (max|out| ${ref.refScale.toFixed(2)})`);
          expect(fp.maxRel, `${h}×${w}: fused vs plain (max abs ${fp.maxAbs})`).toBeLessThan(REL);
          expect(ref.maxRel, `${h}×${w}: vs float64 reference (max abs ${ref.maxAbs})`).toBeLessThan(REL);
          expect(ref.refScale, 'a non-trivial output').toBeGreaterThan(0.1);
        }
      } finally {
        await fused.release();
        await plain.release();
      }
    });
  });

  it('the float64 reference itself reproduces the tiny-sd2 and tiny-sd15 fixtures', async () => {
    for (const model of ['tiny-sd2', 'tiny-sd15']) {
      const raw = readJson('pipelines', model, 'unet', 'config.json');
      const weights = await loadTensors('pipelines', model, 'unet', 'diffusion_pytorch_model.safetensors');
      const ref = await loadTensors('reference', model, 'unet.safetensors');
      const get = (k: string) => ref.get(`nonsquare_t500_scalar.${k}`)!;
      const d = diff(referenceUNet(raw, weights, get('sample'), [500], get('encoder_hidden_states')), get('out').toFloat32().data);
      measured.push(`float64 reference vs ${model} nonsquare_t500_scalar: ${d.maxAbs.toExponential(2)} abs`);
      expect(d.maxAbs).toBeLessThan(5e-5);
    }
  });
});

describe('UNet graphs of the real Stable Diffusion configs', () => {
  // The hub configs' architecture fields (runwayml/stable-diffusion-v1-5, stabilityai/stable-diffusion-2-1);
  // the rest are diffusers' defaults. The parameter counts are the published checkpoints' sizes.
  const cases = [
    { name: 'SD 1.5', raw: { sample_size: 64, cross_attention_dim: 768, attention_head_dim: 8 }, params: 859_520_964 },
    { name: 'SD 2.1', raw: { sample_size: 96, cross_attention_dim: 1024, attention_head_dim: [5, 10, 20, 20], use_linear_projection: true, upcast_attention: true }, params: 865_910_724 },
  ];
  it.each(cases)('$name declares the 686 checkpoint tensors with $params parameters', ({ raw, params }) => {
    const c = parseUNet2DConditionConfig(new ConfigReader(raw, 'unet/config.json'));
    const g = buildUNetGraph(c, { batch: 2, height: 64, width: 64, seqLen: 77 });
    let total = 0;
    for (const w of g.weights.values()) total += w.shape.reduce((a, b) => a * b, 1);
    expect(g.weights.size).toBe(686);
    expect(total).toBe(params);
    // SD 2.x: 64-wide heads everywhere (the misnomer: [5, 10, 20, 20] are head counts).
    expect(c.block_out_channels.map((ch, i) => ch / c.num_attention_heads[i])).toEqual(raw.use_linear_projection ? [64, 64, 64, 64] : [40, 80, 160, 160]);
    expect(g.weights.get('down_blocks.0.attentions.0.proj_in.weight')!.shape).toEqual(raw.use_linear_projection ? [320, 320] : [320, 320, 1, 1]);
  });
});
