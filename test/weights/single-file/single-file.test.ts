// Opening single-file checkpoints: config inference from the shapes alone (no YAML), what is not
// SD 1.x / 2.x named from its keys, the YAML subset, and broken files — each a LatentlabError naming
// the file and the key, never a silently wrong model.

import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { readConfigFile } from '../../../src/weights/diffusers.js';
import { writeSafetensors } from '../../../src/weights/safetensors-write.js';
import { detectFamily } from '../../../src/weights/single-file/detect.js';
import { parseLdmYaml } from '../../../src/weights/single-file/ldm-yaml.js';
import { openSingleFile } from '../../../src/weights/single-file/single-file.js';
import { WeightSet } from '../../../src/weights/weight-set.js';
import { UNet2DConditionModel } from '../../../src/models/unet-2d-condition-model.js';
import { ConfigReader } from '../../../src/models/config-reader.js';
import { expectCode, useTempDir } from '../tmp.js';

const DIR = 'test/fixtures/conformance/single_file';
const tmp = useTempDir('single-file');

describe('config inference without a YAML', () => {
  it('tiny-sd15: the UNet and VAE configs come out of the shapes (8 heads is SD 1\'s constant)', async () => {
    const file = join(tmp(), 'noyaml.safetensors');
    copyFileSync(join(DIR, 'tiny-sd15.safetensors'), file);
    const sf = await openSingleFile(file);
    expect(sf.yamlFile).toBeUndefined();
    for (const [name, folder] of [['unet', 'unet'], ['vae', 'vae']] as const) {
      const want = await readConfigFile(`test/fixtures/conformance/pipelines/tiny-sd15/${folder}/config.json`);
      for (const [k, v] of Object.entries(sf.components[name].config)) {
        if (['_class_name', 'sample_size'].includes(k)) continue;
        expect(v, `${name}.${k}`).toEqual(want[k]);
      }
    }
    expect(sf.configs.predictionType).toBe('epsilon');
    expect(sf.configs.scheduler).toMatchObject({ _class_name: 'DDIMScheduler', beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' });
  });

  it('an SD 2 file without a YAML is v-prediction with the penultimate text layer (diffusers\' default)', async () => {
    const file = join(tmp(), 'sd2-noyaml.safetensors');
    copyFileSync(join(DIR, 'tiny-sd2.safetensors'), file);
    const sf = await openSingleFile(file);
    expect(sf.configs).toMatchObject({ predictionType: 'v_prediction', predictionFrom: 'global_step', textLayers: 1 });
    expect(sf.components.text_encoder.weights.keys.some((k) => k.includes('layers.1.'))).toBe(false);
    expect((await openSingleFile(file, { predictionType: 'epsilon' })).configs.predictionType).toBe('epsilon');
  });
});

describe('what is not SD 1.x / 2.x', () => {
  it.each([
    [['conditioner.embedders.1.model.ln_final.weight', 'model.diffusion_model.input_blocks.0.0.weight'], 'XL'],
    [['model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight'], 'Stable Diffusion 3'],
    [['double_blocks.0.img_attn.qkv.weight'], 'FLUX'],
    [['lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight'], 'LoRA'],
    [['encoder.down.0.block.0.conv1.weight', 'decoder.up.0.block.0.conv1.weight'], 'only a VAE'],
  ])('%j is named (%s)', async (keys, what) => {
    const code = what === 'LoRA' || what === 'only a VAE' ? 'SINGLE_FILE_NOT_A_CHECKPOINT' : 'SINGLE_FILE_UNSUPPORTED';
    const e = await expectCode(() => detectFamily(keys, 'x.safetensors'), code);
    expect(e.message).toContain(what);
    expect(e.message).toContain('x.safetensors');
  });
});

describe('LDM YAML subset', () => {
  it('reads the fixture YAMLs: nesting, flow lists, floats like 1.0e-05, comments', () => {
    const y = parseLdmYaml(readFileSync(join(DIR, 'tiny-sd2.yaml'), 'utf8'), 'tiny-sd2.yaml') as any;
    expect(y.model.params.parameterization).toBe('v');
    expect(y.model.params.unet_config.params.num_heads).toEqual([2, 4, 4, 4]);
    expect(y.model.params.first_stage_config.params.ddconfig.attn_resolutions).toEqual([]);
    expect(y.model.params.cond_stage_config.params.text_config.layer_norm_eps).toBe(1e-5);
    expect(parseLdmYaml('a:\n  b: 1.e-6 # x\n  c: "q # not a comment"\n', 'f').a).toEqual({ b: 1e-6, c: 'q # not a comment' });
  });

  it('refuses what it does not read, naming the line', async () => {
    const e = await expectCode(() => parseLdmYaml('a:\n  - 1\n', 'm.yaml'), 'SINGLE_FILE_BAD_YAML');
    expect(e.message).toContain('m.yaml:2');
  });
});

describe('broken files', () => {
  it('a truncated .safetensors and a truncated .ckpt fail when opened, naming the file', async () => {
    for (const [name, code] of [['tiny-sd15.safetensors', 'SAFETENSORS_OUT_OF_RANGE'], ['tiny-sd15.ckpt', 'ZIP_TRUNCATED']]) {
      const file = join(tmp(), `cut-${name}`);
      const bytes = readFileSync(join(DIR, name));
      writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
      const e = await expectCode(() => openSingleFile(file), code);
      expect(e.message).toContain(file);
    }
  });

  it('a checkpoint with half its UNet keys: the binder lists the missing diffusers keys and the file', async () => {
    const full = await WeightSet.open([join(DIR, 'tiny-sd2.safetensors')]);
    const kept = new Map(full.keys.filter((k) => !k.startsWith('model.diffusion_model.output_blocks.')).map((k) => [k, full.ref(k)]));
    const file = join(tmp(), 'half.safetensors');
    await writeSafetensors(file, kept);
    const sf = await openSingleFile(file, { originalConfig: join(DIR, 'tiny-sd2.yaml') });
    const { config, weights } = sf.components.unet;
    const e = await expectCode(() => UNet2DConditionModel.fromComponent({ folder: file, config: new ConfigReader(config, file), weights }), 'WEIGHTS_MISSING');
    expect(e.message).toContain(file);
    expect(e.message).toContain('up_blocks.0.resnets.0.conv1.weight');
  });

  it('a .ckpt whose pickle wants to run code is refused before anything runs', async () => {
    const file = join(tmp(), 'evil.ckpt');
    // protocol 2: GLOBAL os.system, a string, TUPLE1, REDUCE, STOP
    writeFileSync(file, Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('cos\nsystem\n'), Buffer.from([0x58, 2, 0, 0, 0]), Buffer.from('ls'), Buffer.from([0x85, 0x52, 0x2e])]));
    const e = await expectCode(() => openSingleFile(file), 'PICKLE_GLOBAL_REFUSED');
    expect(e.message).toContain('os.system');
  });
});
