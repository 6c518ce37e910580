// latentlab encode: an image through the VAE's encoder, as the deep dive's "the autoencoder" does.
//
// The encoder returns a distribution, latentDist = N(mean, diag(std²)), per latent pixel. Its std
// is tiny (about 1e-3 of the mean's spread for SD's VAE): the encoding is nearly deterministic,
// which the printed statistics show. What is saved (--out) is what the UNet works on and what
// img2img starts from:
//
//   latents = scaling_factor × latentDist.sample(generator)          [1, 4, H/8, W/8]
//
// — one draw of randn from a generator seeded with --seed, in float32 as diffusers computes it.

import { resolve } from 'node:path';

import { type Command, Option } from 'commander';

import {
  AutoencoderKL, encodePng, Generator, latentChannelGrid, preprocess, renderLabels, serializeSafetensors, tensorStats, type TensorStats,
} from '../../node.js';
import { action, newCommand } from '../command.js';
import { seedFor } from '../generation-flags.js';
import { prepareInputImage } from '../input-image.js';
import { latentlabVersion, stringifyJson } from '../metadata.js';
import { addModelOptions, loadOptions, type ModelFlags, resolveFolder } from '../model.js';
import { explicitTarget, writeTarget } from '../outputs.js';
import { nonEmptyFlag, seedFlag, sizeFlag } from '../values.js';

interface EncodeFlags extends ModelFlags {
  image: string;
  out?: string;
  channels?: string;
  seed?: number | bigint;
  width?: number;
  height?: number;
  overwrite?: boolean;
  json?: boolean;
}

const fmt = (s: TensorStats) => `min ${s.min.toPrecision(4)}  max ${s.max.toPrecision(4)}  mean ${s.mean.toPrecision(4)}`;

export function encodeCommand(): Command {
  const cmd = newCommand('encode', 'encode an image into latents with the VAE; print the statistics of latentDist');
  cmd.addOption(new Option('--image <file>', 'the image to encode; sides must be multiples of 8 unless --width/--height resize it').argParser(nonEmptyFlag('--image')).makeOptionMandatory());
  addModelOptions(cmd, { required: true, runs: true });
  cmd.addOption(new Option('--out <file.safetensors>', 'save the latents: scaling_factor × latentDist.sample(generator), key "latents"').argParser(nonEmptyFlag('--out')));
  cmd.addOption(new Option('--channels <file.png>', 'save the 4 latent channels as a grid of grey-scale pictures').argParser(nonEmptyFlag('--channels')));
  cmd.addOption(new Option('--seed <s>', 'seed of the sample\'s noise (default: a random one, reported)').argParser(seedFlag));
  cmd.addOption(new Option('--width <w>', 'resize the image to this width first').argParser(sizeFlag('--width')));
  cmd.addOption(new Option('--height <h>', 'resize the image to this height first').argParser(sizeFlag('--height')));
  cmd.option('--overwrite', 'replace existing --out / --channels files');
  cmd.option('--json', 'print one JSON object on stdout and nothing else');
  cmd.addHelpText('after', `
Example:
  latentlab encode --model test/fixtures/conformance/pipelines/tiny-sd15 \\
    --image test/fixtures/conformance/reference/tiny-sd15/img2img/sd15_pndm_img2img_64x64_input.png \\
    --seed 0 --out latents.safetensors --channels channels.png`);
  return cmd.action(action<EncodeFlags>(async (flags, session) => {
    const overwrite = flags.overwrite ?? false;
    const out = flags.out === undefined ? undefined : await explicitTarget('--out', flags.out, ['.safetensors'], overwrite);
    const channels = flags.channels === undefined ? undefined : await explicitTarget('--channels', flags.channels, ['.png'], overwrite);
    const input = await prepareInputImage(flags);
    const { seed, random } = seedFor(flags);
    const folder = await resolveFolder(flags, session);
    const vae = await AutoencoderKL.fromPretrained(folder, loadOptions(flags));
    if (input.resizedFrom) session.note(`resized ${flags.image} from ${input.resizedFrom.width}×${input.resizedFrom.height} to ${input.image.width}×${input.image.height} (Lanczos)`);
    if (random) session.note(`seed ${seed} (random; pass --seed ${seed} for the same sample)`);

    session.phase = 'compute';
    const { latentDist } = await vae.encode(preprocess(input.image)); // [1, 3, H, W] in [−1, 1] → posterior over [1, 4, H/8, W/8]
    const sample = latentDist.sample(new Generator(seed));
    const s = Math.fround(vae.scalingFactor);
    const latents = sample.clone();
    for (let i = 0; i < latents.size; i++) latents.data[i] = Math.fround(s * sample.data[i]);
    await vae.release();
    session.checkCancelled();

    session.phase = 'write';
    const files: { path: string; kind: 'latents' | 'channels' }[] = [];
    if (out) {
      const metadata = {
        format: 'pt',
        content: 'latents: scaling_factor × latentDist.sample(generator) [1, 4, H/8, W/8], as the UNet sees them; vae.decode takes latents / scaling_factor',
        scaling_factor: String(vae.scalingFactor), seed: String(seed), image: flags.image, model: flags.model!, latentlab: latentlabVersion(),
      };
      files.push({ path: await writeTarget(out, serializeSafetensors({ latents }, metadata)), kind: 'latents' });
    }
    if (channels) files.push({ path: await writeTarget(channels, await encodePng(await renderLabels(latentChannelGrid(latents)))), kind: 'channels' });

    const dist = { mean: tensorStats(latentDist.mean), std: tensorStats(latentDist.std), var: tensorStats(latentDist.var) };
    session.print(`image ${input.image.width}×${input.image.height} → latents [${latents.shape.join(', ')}] (scaling_factor ${vae.scalingFactor}, seed ${seed})`);
    session.print(`latentDist.mean  ${fmt(dist.mean)}`);
    session.print(`latentDist.std   ${fmt(dist.std)}`);
    session.print(`latentDist.var   ${fmt(dist.var)}`);
    session.print(`latents          ${fmt(tensorStats(latents))}   (= scaling_factor × latentDist.sample())`);
    for (const f of files) session.print(`wrote ${f.path}`);
    session.report({
      command: 'encode', image: flags.image, model: flags.model, folder, seed, resizedFrom: input.resizedFrom,
      shape: latents.shape, scalingFactor: vae.scalingFactor, latentDist: dist, latents: tensorStats(latents), files: files.map((f) => ({ ...f, path: resolve(f.path) })),
    }, (v) => stringifyJson(v, { indent: 2 }));
  }));
}
