// `latentlab info FILE` on weights files: what each fixture file is, from its header.

import { describe, expect, it } from 'vitest';

import { fixturePath } from '../helpers/fixtures.js';
import { parseReport, runCli } from './run-cli.js';

describe('latentlab info FILE', () => {
  it.each([
    [['single_file', 'tiny-sd15.ckpt'], /SD 1\.x checkpoint/, { kind: 'checkpoint', family: 'sd1', inpainting: false }],
    [['single_file', 'tiny-sd2.safetensors'], /SD 2\.x checkpoint/, { kind: 'checkpoint', family: 'sd2' }],
    [['lora', 'tiny-sd15-lora.kohya.safetensors'], /LoRA \(kohya-ss\), rank 4, 193 UNet \+ 18 text-encoder modules, 1 3×3 conv/, { kind: 'lora', format: 'kohya', ranks: [4] }],
    [['lora', 'pytorch_lora_weights.safetensors'], /LoRA \(diffusers\/PEFT\)/, { kind: 'lora', format: 'peft' }],
    [['pipelines', 'tiny-sd15', 'vae', 'diffusion_pytorch_model.safetensors'], /VAE \(diffusers key layout\)/, { kind: 'vae', layout: 'diffusers' }],
    [['reference', 'tiny-sd15', 'textual_inversion', 'my-style.pt'], /textual-inversion embedding, 2 vector\(s\) of width 32/, { kind: 'embedding', dim: 32 }],
  ])('%j', async (parts, text, what) => {
    const r = await runCli(['info', fixturePath(...parts)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(text);
    const j = await runCli(['info', fixturePath(...parts), '--json']);
    expect(parseReport(j).what).toMatchObject(what);
  });
});
