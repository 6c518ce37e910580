// What a diffusers pipeline folder holds, from its JSON files and the safetensors headers alone
// (no tensor is read): `latentlab info DIR`. Each component: its class, parameter count, dtypes and
// file size; the pipeline's default image size (unet sample_size × the VAE's factor) and scheduler;
// and the model card's title when the folder has a README.md (the shipped latentlab-mini does).

import { LatentlabError } from '../core/errors.js';
import { fileSystem } from '../core/io.js';
import { SafetensorsFile } from './safetensors-file.js';

export interface DescribedComponent {
  name: string;
  className: string;
  parameters: number;
  dtypes: Record<string, number>;
  bytes: number;
}

export interface DescribedFolder {
  folder: string;
  pipeline: string;
  components: DescribedComponent[];
  scheduler?: string;
  /** Default height = width in pixels (unet.sample_size · 2^(len(vae.block_out_channels) − 1)). */
  defaultSize?: number;
  title?: string;
}

const STEMS = ['model', 'diffusion_pytorch_model'];

export async function describeFolder(folder: string): Promise<DescribedFolder> {
  const fs = fileSystem();
  const indexFile = fs.join(folder, 'model_index.json');
  if (!(await fs.stat(indexFile))?.isFile) {
    throw new LatentlabError('PIPELINE_NOT_DIFFUSERS', `${folder} has no model_index.json, so it is not a diffusers pipeline folder`, {
      file: folder, hint: 'pass a pipeline folder, or a single weights file (.safetensors, .ckpt, .pt, .bin)',
    });
  }
  const index = JSON.parse(await fs.readText(indexFile)) as Record<string, unknown>;
  const json = async (p: string) => ((await fs.stat(p))?.isFile ? (JSON.parse(await fs.readText(p)) as Record<string, unknown>) : undefined);
  const components: DescribedComponent[] = [];
  for (const name of (await fs.list(folder)).sort()) {
    const dir = fs.join(folder, name);
    if (!(await fs.stat(dir))?.isDirectory) continue;
    const file = (await Promise.all(STEMS.map(async (s) => ((await fs.stat(fs.join(dir, `${s}.safetensors`)))?.isFile ? fs.join(dir, `${s}.safetensors`) : undefined)))).find(Boolean);
    if (!file) continue;
    const st = await SafetensorsFile.open(file);
    const dtypes: Record<string, number> = {};
    let parameters = 0;
    for (const k of st.keys) {
      const e = st.entry(k);
      parameters += e.shape.reduce((a, b) => a * b, 1);
      dtypes[e.dtype] = (dtypes[e.dtype] ?? 0) + 1;
    }
    const config = await json(fs.join(dir, 'config.json'));
    const declared = Array.isArray(index[name]) ? String((index[name] as unknown[])[1]) : undefined;
    const className = String(config?._class_name ?? declared ?? (config?.architectures as string[] | undefined)?.[0] ?? 'unknown');
    components.push({ name, className, parameters, dtypes, bytes: st.size });
  }
  const unet = await json(fs.join(folder, 'unet', 'config.json'));
  const vae = await json(fs.join(folder, 'vae', 'config.json'));
  const scheduler = await json(fs.join(folder, 'scheduler', 'scheduler_config.json'));
  const blocks = Array.isArray(vae?.block_out_channels) ? vae.block_out_channels.length : undefined;
  const readme = fs.join(folder, 'README.md');
  const title = (await fs.stat(readme))?.isFile ? /^#\s+(.+)$/m.exec(await fs.readText(readme))?.[1] : undefined;
  return {
    folder, pipeline: String(index._class_name ?? 'unknown'), components,
    scheduler: scheduler?._class_name as string | undefined,
    defaultSize: typeof unet?.sample_size === 'number' && blocks ? unet.sample_size * 2 ** (blocks - 1) : undefined,
    title,
  };
}

export function describeFolderText(d: DescribedFolder): string {
  const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(1)} k`);
  const lines = [`${d.folder}: ${d.pipeline}${d.title ? ` — ${d.title}` : ''}`];
  for (const c of d.components) {
    lines.push(`  ${c.name.padEnd(13)} ${c.className.padEnd(28)} ${fmt(c.parameters).padStart(9)} parameters, ${Object.keys(c.dtypes).join('/')}, ${(c.bytes / 2 ** 20).toFixed(1)} MB`);
  }
  if (d.defaultSize) lines.push(`default size ${d.defaultSize}×${d.defaultSize}${d.scheduler ? `, scheduler ${d.scheduler}` : ''}`);
  return lines.join('\n');
}
