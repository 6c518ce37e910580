// UNet2DConditionModel against diffusers 0.27 outputs (fixture README §6, tolerances §13), for
// tiny-sd15 (conv projections, 8 heads) and tiny-sd2 (linear projections, heads [2, 4, 4, 4]),
// on the fused and the plain attention path. Every check's max error is collected and printed.
import { afterAll, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition-model.js';
import { sleefExpf, timestepFrequencies } from '../../src/nn/timestep-embedding.js';
import { expectClose } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';

const OUT = { abs: 5e-5 }; // README §13: UNet `out`
const TIME = { abs: 5e-5 }; // README §13: sinusoidal features
// Intermediates reach |x| ≈ 8 (out: ≤ 2.7), and float32 rounding scales with the values: the same
// tolerance relative to max|ref| (5e-5 / 2.7 ≈ 2e-5), or 5e-5 abs, whichever is looser.
const DEBUG = { abs: 5e-5, rel: 2e-5 };
// README §13 measures 4.7e-3 abs for rounding the sd15 UNet weights to float16; allow a small margin.
const FP16 = 5e-3;
// Float32 frequencies computed as torch does reproduce the features to the ulp of sin/cos (6e-8
// measured); float64 frequencies would be off by up to 8.8e-6 (README §13). 1e-6 tells them apart.
const SINUSOIDAL_FLOAT32 = { abs: 1e-6 };

const measured: string[] = [];
afterAll(() => {
  console.log(`UNet conformance, max abs errors:\n  ${measured.join('\n  ')}`);
});

function check(label: string, actual: Tensor, expected: Tensor, tol: { abs: number; rel?: number }): void {
  const d = expectClose(label, actual, expected, tol);
  measured.push(`${label}: ${d.maxAbs.toExponential(2)} (max|ref| ${d.refScale.toFixed(2)})`);
}

interface UNetCase {
  name: string;
  timestep: number | number[];
  kind: 'int_tensor' | 'python_int' | 'float_tensor';
}

/** The timestep as the case passed it to diffusers: a Python int stays a plain number here. */
function timestepArg(c: UNetCase, stored: Tensor): number | Tensor {
  return c.kind === 'python_int' ? (c.timestep as number) : stored;
}

for (const model of ['tiny-sd15', 'tiny-sd2']) {
  const cases = readJson<{ cases: UNetCase[] }>('reference', model, 'unet.json').cases;

  describe.each(['fused', 'plain'] as const)(`UNet2DConditionModel ${model} (%s attention)`, (attention) => {
    it.each(cases.map((c) => [c.name, c] as const))('case %s matches diffusers', async (_, c) => {
      const ref = await loadTensors('reference', model, 'unet.safetensors');
      const unet = await UNet2DConditionModel.fromPretrained(fixturePath('pipelines', model), { attention });
      try {
        const debug = ref.has(`${c.name}.debug.conv_in`);
        const get = (k: string) => ref.get(`${c.name}.${k}`)!;
        const out = await unet.forward(get('sample'), timestepArg(c, get('timestep')), get('encoder_hidden_states'), { debug });
        check(`${model} ${attention} ${c.name} out`, out.sample, get('out'), OUT);
        if (c.name === 'batch2_t999_t10') {
          expect(debug, 'the first case stores the debug intermediates').toBe(true);
          const names = Object.keys(out.debug!);
          expect(names.length).toBe(5 + 2 * unet.config.block_out_channels.length);
          for (const name of names) check(`${model} ${attention} ${c.name} debug.${name}`, out.debug![name], get(`debug.${name}`), DEBUG);
          check(`${model} ${attention} ${c.name} debug.conv_out`, out.sample, get('debug.conv_out'), OUT);
        }
      } finally {
        await unet.release();
      }
    });

    it('matches time_embedding.sinusoidal / emb for t = 0 … 999 and 749.25', async () => {
      const ref = await loadTensors('reference', model, 'unet.safetensors');
      const unet = await UNet2DConditionModel.fromPretrained(fixturePath('pipelines', model), { attention });
      try {
        const t = ref.get('time_embedding.timesteps')!;
        const T = t.shape[0];
        const c0 = unet.config.block_out_channels[0];
        // Run the whole UNet on T 1×1 latents (one per timestep) and read the time intermediates.
        const sample = Tensor.zeros([T, unet.config.in_channels, 1, 1]);
        const ehs = Tensor.zeros([T, 1, unet.config.cross_attention_dim[0]]);
        const out = await unet.forward(sample, t, ehs, { debug: true });
        expect(out.debug!.time_proj.shape).toEqual([T, c0]);
        check(`${model} ${attention} time_embedding.sinusoidal`, out.debug!.time_proj, ref.get('time_embedding.sinusoidal')!, TIME);
        expectClose('sinusoidal features from float32 frequencies', out.debug!.time_proj, ref.get('time_embedding.sinusoidal')!, SINUSOIDAL_FLOAT32);
        check(`${model} ${attention} time_embedding.emb`, out.debug!.time_embedding, ref.get('time_embedding.emb')!, TIME);
      } finally {
        await unet.release();
      }
    });
  });
}

describe('timestepFrequencies', () => {
  it('uses SLEEF\'s expf as torch does: within 1 ulp of exp, and not correctly rounded where torch is not', () => {
    const f = Math.fround;
    // freq_7 of a 32-channel UNet: torch gives 0.017782796, the correctly rounded exp 0.017782794.
    const e7 = f(f(f(-Math.log(10000)) * 7) / 16);
    expect(sleefExpf(e7)).toBe(f(0.017782796));
    expect(f(Math.exp(e7))).toBe(f(0.017782794));
    let worstUlps = 0;
    for (let x = -20; x <= 5; x += 0.001237) {
      const d = f(x);
      const exact = Math.exp(d);
      const ulp = 2 ** (Math.floor(Math.log2(exact)) - 23);
      worstUlps = Math.max(worstUlps, Math.abs(sleefExpf(d) - exact) / ulp);
    }
    expect(worstUlps).toBeLessThan(1);
  });


  it('are the float32 values torch computes: host sin/cos of float32(t · freq) match the fixture at every t', async () => {
    for (const model of ['tiny-sd15', 'tiny-sd2']) {
      const ref = await loadTensors('reference', model, 'unet.safetensors');
      const t = ref.get('time_embedding.timesteps')!.data as Float32Array;
      const feats = ref.get('time_embedding.sinusoidal')! as Tensor<'float32'>;
      const dim = feats.shape[1];
      const freqs = timestepFrequencies({ dim, flipSinToCos: true, freqShift: 0 });
      const half = freqs.length;
      expect(half).toBe(dim / 2);
      let worst = 0;
      t.forEach((tv, row) => {
        for (let i = 0; i < half; i++) {
          const arg = Math.fround(tv * freqs[i]); // the float32 product the graph computes
          worst = Math.max(worst, Math.abs(Math.fround(Math.cos(arg)) - feats.data[row * dim + i]), Math.abs(Math.fround(Math.sin(arg)) - feats.data[row * dim + half + i]));
        }
      });
      measured.push(`${model} timestepFrequencies (host sin/cos) vs fixture sinusoidal: ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(SINUSOIDAL_FLOAT32.abs);
    }
  });
});

describe('UNet2DConditionModel fp16 variant (tiny-sd15)', () => {
  it('loads diffusion_pytorch_model.fp16.safetensors and differs from the float32 reference only by the weight rounding', async () => {
    const ref = await loadTensors('reference', 'tiny-sd15', 'unet.safetensors');
    const unet = await UNet2DConditionModel.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), { variant: 'fp16' });
    try {
      const get = (k: string) => ref.get(`batch2_t999_t10.${k}`)!;
      const out = await unet.forward(get('sample'), get('timestep'), get('encoder_hidden_states'));
      const d = expectClose('tiny-sd15 fp16 variant out', out.sample, get('out'), { abs: FP16 });
      measured.push(`tiny-sd15 fp16 variant out vs float32 reference: ${d.maxAbs.toExponential(2)} (README: 4.7e-3)`);
      expect(d.maxAbs, 'the fp16 weights must actually have been used').toBeGreaterThan(1e-4);
    } finally {
      await unet.release();
    }
  });
});
