// LoRA files and prompt tags without running a network: A1111's <lora:name:w> extraction, and the
// errors for files latentlab will not apply (unknown keys, an SDXL LoRA, a missing factor).

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { extractLoraTags } from '../../src/pipelines/lora.js';
import { openLoraFile } from '../../src/weights/lora/lora-file.js';
import { writeSafetensors } from '../../src/weights/safetensors-write.js';
import { expectCode, useTempDir } from '../weights/tmp.js';

const tmp = useTempDir('lora-files');
const t = (shape: number[]) => new Tensor('float32', shape);

describe('extractLoraTags', () => {
  it('removes the tags and reads their weights (default 1)', () => {
    expect(extractLoraTags('a castle <lora:watercolor:0.8>, <lora:ink> sunset')).toEqual({
      prompt: 'a castle ,  sunset', tags: [{ name: 'watercolor', weight: 0.8 }, { name: 'ink', weight: 1 }],
    });
    expect(extractLoraTags('(a castle:1.2) [b|c]').tags).toEqual([]); // other A1111 syntax is left alone
  });

  it('a non-numeric weight is an error', async () => {
    await expectCode(() => extractLoraTags('<lora:x:big>'), 'PIPELINE_ARGUMENT');
  });
});

describe('openLoraFile refuses what it cannot apply', () => {
  it.each([
    ['unknown.safetensors', { 'lora_unet_a.lora_down.weight': t([4, 8]), 'lora_unet_a.lora_up.weight': t([8, 4]), 'lora_unet_a.hada_w1_a': t([4, 8]) }, 'LORA_UNKNOWN_KEYS'],
    ['sdxl.safetensors', { 'lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight': t([4, 8]) }, 'LORA_FORMAT'],
    ['half.safetensors', { 'lora_unet_a.lora_down.weight': t([4, 8]) }, 'LORA_INCOMPLETE'],
  ])('%s', async (name, tensors, code) => {
    const file = join(tmp(), name);
    await writeSafetensors(file, tensors);
    const e = await expectCode(() => openLoraFile(file), code);
    expect(e.message).toContain(file);
  });
});
