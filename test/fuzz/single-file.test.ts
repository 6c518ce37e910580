// A seeded fuzz slice of the single-file and LoRA readers: mutated LDM YAMLs, checkpoints with keys
// dropped, renamed or reshaped, and LoRA key sets with the same damage. Every case must end in a
// result or a LatentlabError — never another exception (a TypeError deep in config inference is a
// bug: the user gets no file, key or fix).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/platform/node/index.js';

import { LatentlabError } from '../../src/core/errors.js';
import type { WeightData } from '../../src/core/external.js';
import { ConfigReader } from '../../src/models/config-reader.js';
import { applyLoras } from '../../src/models/lora.js';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition-model.js';
import { RefSource, reshaped } from '../../src/weights/ref-source.js';
import { detectFamily } from '../../src/weights/single-file/detect.js';
import { inferConfigs } from '../../src/weights/single-file/infer-config.js';
import { unetRefs } from '../../src/weights/single-file/ldm-keys.js';
import { parseLdmYaml } from '../../src/weights/single-file/ldm-yaml.js';
import { openLoraFile } from '../../src/weights/lora/lora-file.js';
import { WeightSet } from '../../src/weights/weight-set.js';

const DIR = 'test/fixtures/conformance/single_file';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Runs `fn`; a LatentlabError counts as refused, anything else is a crash (returned). */
function attempt(fn: () => unknown, crashes: string[], label: string): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof LatentlabError)) crashes.push(`${label}: ${(e as Error).stack?.split('\n').slice(0, 3).join(' | ')}`);
  }
}

describe('fuzzing the single-file and LoRA readers', () => {
  it('mutated YAMLs: parsed or a SINGLE_FILE_BAD_YAML, nothing else', () => {
    const text = readFileSync(join(DIR, 'tiny-sd2.yaml'), 'utf8');
    const r = rng(5);
    const crashes: string[] = [];
    const alphabet = ' :#-[],\n\t"\'{}&*|>0123456789.eE';
    for (let i = 0; i < 400; i++) {
      const chars = [...text];
      for (let k = 0; k < 1 + Math.floor(r() * 6); k++) chars[Math.floor(r() * chars.length)] = alphabet[Math.floor(r() * alphabet.length)];
      const cut = r() < 0.3 ? Math.floor(r() * chars.length) : chars.length;
      attempt(() => parseLdmYaml(chars.slice(0, cut).join(''), 'fuzz.yaml'), crashes, `yaml case ${i}`);
    }
    expect(crashes).toEqual([]);
  });

  it('checkpoints with keys dropped, renamed or reshaped: a bound UNet or a LatentlabError', async () => {
    const file = await WeightSet.open([join(DIR, 'tiny-sd2.safetensors')]);
    const yaml = parseLdmYaml(readFileSync(join(DIR, 'tiny-sd2.yaml'), 'utf8'), 'tiny-sd2.yaml');
    const r = rng(9);
    const crashes: string[] = [];
    let bound = 0;
    for (let i = 0; i < 60; i++) {
      const refs = new Map<string, WeightData>();
      const damage = [0, 0.003, 0.03][i % 3]; // per-key probability: intact, a little, a lot
      for (const k of file.keys) {
        const p = r();
        let ref: WeightData = file.ref(k);
        if (p < damage / 3) continue; // dropped
        if (p < (2 * damage) / 3 && ref.shape.length >= 1) ref = reshaped(ref, [ref.shape.reduce((a, d) => a * d, 1)]); // flattened
        refs.set(p < damage ? k.replace(/\d+/, (d) => String(Number(d) + 1)) : k, ref); // renamed
      }
      const src = new RefSource(refs, `fuzz case ${i}`, [file.paths[0]]);
      attempt(() => {
        const family = detectFamily(src.keys, 'fuzz');
        const c = inferConfigs(src, family, { yaml: i % 2 === 0 ? yaml : undefined });
        const unet = new RefSource(unetRefs(src, c.unet.layers_per_block as number), 'fuzz unet', src.paths);
        UNet2DConditionModel.fromComponent({ folder: 'fuzz', config: new ConfigReader(c.unet, 'fuzz'), weights: unet });
        bound++;
      }, crashes, `checkpoint case ${i}`);
    }
    expect(crashes).toEqual([]);
    expect(bound).toBeGreaterThan(0); // the intact, YAML-backed cases bind
  });

  it('LoRA key sets with modules dropped, renamed or reshaped: applied or a LatentlabError', async () => {
    const lora = await openLoraFile('test/fixtures/conformance/lora/tiny-sd15-lora.kohya.safetensors');
    const unet = await UNet2DConditionModel.fromPretrained('test/fixtures/conformance/pipelines/tiny-sd15', { subfolder: 'unet' });
    const r = rng(13);
    const crashes: string[] = [];
    for (let i = 0; i < 100; i++) {
      const modules = lora.modules.filter(() => r() > 0.05).map((m) => (r() < 0.02 ? { ...m, name: `${m.name}_x` } : r() < 0.02 ? { ...m, downKey: m.upKey } : m));
      attempt(() => applyLoras([{ file: { ...lora, modules }, weight: r() * 2 - 0.5 }], 'unet', unet.weightData), crashes, `lora case ${i}`);
    }
    expect(crashes).toEqual([]);
  });
});
