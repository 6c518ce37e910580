// LoRA as in-graph low-rank branches against diffusers' merged-weight outputs (README §16): the
// UNet (three input cases) and the text encoder at weights 1.0 and 0.6, from the kohya-ss file and
// from the diffusers/PEFT file. Tolerances: UNet 5e-5 abs, text 2e-5 abs (the README's).

import { afterAll, describe, expect, it } from 'vitest';

import type { Tensor } from '../../src/core/tensor.js';
import { CLIPTextModel } from '../../src/models/clip-text-model.js';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition-model.js';
import { openLoraFile } from '../../src/weights/lora/lora-file.js';
import { diff } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';

const FILES = ['tiny-sd15-lora.kohya.safetensors', 'pytorch_lora_weights.safetensors'];
const measured: string[] = [];
afterAll(() => console.log(`LoRA (in-graph branch) max abs error vs diffusers merged:\n${measured.join('\n')}`));

describe.each(FILES)('LoRA %s', (name) => {
  it('UNet and text encoder at weights 1.0 and 0.6 match diffusers with the LoRA merged', async () => {
    const e = readJson('lora', 'expected.json');
    const ref = await loadTensors('lora', 'expected.safetensors');
    const lora = await openLoraFile(fixturePath('lora', name));
    const unet = await UNet2DConditionModel.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), { subfolder: 'unet' });
    const te = await CLIPTextModel.fromPretrained(fixturePath('pipelines', 'tiny-sd15'), { subfolder: 'text_encoder' });
    for (const w of e.weights as number[]) {
      const tag = w === 1 ? 'w1' : `w${w}`;
      expect(await unet.setLoras([{ file: lora, weight: w }])).toEqual([193]); // modules touched (README §16: 211 = 193 UNet + 18 text)
      expect(await te.setLoras([{ file: lora, weight: w }])).toEqual([18]);
      for (const c of e.unet_cases as { name: string }[]) {
        const p = (k: string) => ref.get(`unet.${c.name}.${k}`)! as Tensor;
        const out = await unet.forward(p('sample'), p('timestep'), p('encoder_hidden_states'));
        const d = diff(out.sample.data, p(`out.${tag}`).toFloat32().data);
        measured.push(`  ${name} unet ${c.name} ${tag}: ${d.maxAbs.toExponential(2)}`);
        expect(d.maxAbs, `${c.name} ${tag}`).toBeLessThanOrEqual(5e-5);
      }
      const t = await te.forward(ref.get('text.input_ids')!);
      const d = diff(t.lastHiddenState.data, ref.get(`text.last_hidden_state.${tag}`)!.toFloat32().data);
      measured.push(`  ${name} text ${tag}: ${d.maxAbs.toExponential(2)}`);
      expect(d.maxAbs).toBeLessThanOrEqual(2e-5);
    }
    // Removing the LoRA gives the base model back.
    await unet.setLoras([]);
    const c0 = (e.unet_cases as { name: string }[])[0].name;
    const p = (k: string) => ref.get(`unet.${c0}.${k}`)! as Tensor;
    const base = await unet.forward(p('sample'), p('timestep'), p('encoder_hidden_states'));
    expect(diff(base.sample.data, p('out.base').toFloat32().data).maxAbs).toBeLessThanOrEqual(5e-5);
    await unet.release();
    await te.release();
  });
});
