// latentlab decode: latents back to pictures through the VAE's decoder, exactly as the pipeline
// ends: images = postprocess(vae.decode(latents / scaling_factor)). It reads the files that
// `generate --save-latents` and `encode --out` write (key "latents", UNet-scale latents).
// Latents saved by `generate` carry its settings, so the PNGs get the same A1111 parameters text.
// `--vae taesd PATH` decodes with the tiny autoencoder instead (scaling factor 1).

import { resolve } from 'node:path';

import { type Command, Option } from 'commander';

import {
  AutoencoderKL, encodePng, LatentlabError, parseJson, postprocess, SafetensorsFile, Tensor,
} from '../../node.js';
import { action, newCommand } from '../command.js';
import { type GenerationSettings, modelName, pngTextFor, stringifyJson } from '../metadata.js';
import { addModelOptions, isFolder, loadOptions, type ModelFlags, resolveFolder } from '../model.js';
import { imageTargets, writeTarget } from '../outputs.js';
import { nonEmptyFlag } from '../values.js';
import { addVaeOptions, loadVae, vaeChoice } from '../vae-flags.js';

interface DecodeFlags extends ModelFlags {
  latents: string;
  vae?: string[];
  out?: string;
  overwrite?: boolean;
  json?: boolean;
}

/** The latents tensor of a file: key "latents", or the file's only tensor; [4, h, w] gets a batch axis. */
async function readLatents(path: string): Promise<{ latents: Tensor<'float32'>; metadata: Readonly<Record<string, string>> }> {
  const file = await SafetensorsFile.open(path);
  const key = file.has('latents') ? 'latents' : file.keys.length === 1 ? file.keys[0] : undefined;
  if (key === undefined) {
    throw new LatentlabError('CLI_LATENTS', `--latents ${path}: no tensor named "latents" (the file holds ${file.keys.length} tensors: ${file.keys.slice(0, 5).join(', ')}${file.keys.length > 5 ? ', …' : ''})`, {
      file: path, hint: 'pass a file written by `latentlab generate --save-latents` or `latentlab encode --out`',
    });
  }
  const t = await file.read(key);
  if ((t.rank !== 3 && t.rank !== 4) || !['float32', 'float16', 'bfloat16', 'float64'].includes(t.dtype)) {
    throw new LatentlabError('CLI_LATENTS', `--latents ${path}: "${key}" is ${t.dtype} [${t.shape.join(', ')}]; expected float latents [B, 4, h, w]`, { file: path, key });
  }
  const latents = t.toFloat32();
  return { latents: latents.rank === 3 ? latents.reshape([1, ...latents.shape]) : latents, metadata: file.metadata };
}

/** The generate settings stored with the latents, if they are there and fit the batch. */
function storedSettings(metadata: Readonly<Record<string, string>>, batch: number): GenerationSettings | undefined {
  try {
    const s = parseJson(metadata.settings ?? '', { nonFinite: true }) as GenerationSettings;
    return s.batchSize === batch && Array.isArray(s.prompts) ? s : undefined;
  } catch {
    return undefined;
  }
}

export function decodeCommand(): Command {
  const cmd = newCommand('decode', 'decode saved latents to PNG images with the VAE');
  cmd.addOption(new Option('--latents <file.safetensors>', 'latents saved by generate --save-latents or encode --out').argParser(nonEmptyFlag('--latents')).makeOptionMandatory());
  addModelOptions(cmd, { required: true, runs: true });
  addVaeOptions(cmd, { preview: false });
  cmd.addOption(new Option('--out <file.png|dir/>', 'output image(s), named like generate --out (default: numbered names in the current folder)').argParser(nonEmptyFlag('--out')));
  cmd.option('--overwrite', 'replace existing files named by --out');
  cmd.option('--json', 'print one JSON object on stdout and nothing else');
  cmd.addHelpText('after', '\nExample:\n  latentlab decode --model test/fixtures/conformance/pipelines/tiny-sd15 --latents latents.safetensors --out decoded.png');
  return cmd.action(action<DecodeFlags>(async (flags, session) => {
    const { latents, metadata } = await readLatents(flags.latents);
    const batch = latents.shape[0];
    const targets = await imageTargets('--out', flags.out, batch, metadata.seed ?? 'decoded', flags.overwrite ?? false);
    const tiny = await vaeChoice('--vae', flags.vae);
    const folder = await resolveFolder(flags, session);
    const vae = tiny ? await loadVae(tiny, loadOptions(flags)) : await AutoencoderKL.fromPretrained(folder, loadOptions(flags));
    if (latents.shape[1] !== vae.config.latent_channels) {
      throw new LatentlabError('CLI_LATENTS', `--latents ${flags.latents}: the latents have ${latents.shape[1]} channels but this VAE takes ${vae.config.latent_channels}`, {
        file: flags.latents, hint: 'decode with the model the latents were made with',
      });
    }

    session.phase = 'compute';
    const s = Math.fround(vae.scalingFactor);
    const z = new Tensor('float32', latents.shape);
    for (let i = 0; i < z.size; i++) z.data[i] = Math.fround(latents.data[i] / s); // the pipeline's latents / scaling_factor
    const images = postprocess((await vae.decode(z)).sample); // [B, 3, 8h, 8w] → B uint8 RGB images
    await vae.release();
    session.checkCancelled();

    session.phase = 'write';
    const settings = storedSettings(metadata, batch);
    const model = modelName(flags.model!, await isFolder(flags.model!));
    const files: string[] = [];
    for (let i = 0; i < images.length; i++) {
      const text: Record<string, string> = settings ? pngTextFor(settings, i, model) : { Comment: `latentlab decode of ${flags.latents}` };
      files.push(await writeTarget(targets[i], await encodePng(images[i], { text })));
    }
    for (const f of files) session.print(`wrote ${f}`);
    session.report({
      command: 'decode', latents: flags.latents, shape: latents.shape, model: flags.model, folder,
      files: files.map((path, index) => ({ path: resolve(path), kind: 'image', index })), images: files.map((f) => resolve(f)),
    }, (v) => stringifyJson(v, { indent: 2 }));
  }));
}
