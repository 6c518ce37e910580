// `<lora:name:w>` prompt tags on the server, as the CLI's --lora-dir (cli/lora-flags.ts): a tag's
// name is looked up among the .safetensors files of the server's --lora-dir (ModelHost.loras) —
// never joined into a path, so a request opens no file of its choosing. A name that is not listed
// is skipped with a warning, as A1111 does ("Lora not found"). The infotext records `Lora hashes`.

import { type LoraReport, type LoraTag, loraShortHash, openLoraFile } from '../node.js';
import type { ListedLora, ModelHost } from './models.js';

export interface RequestLoras {
  /** The set as one string (the LoraGate's key; '' for none). */
  key: string;
  reports: LoraReport[];
}

/** The request's tags resolved against the listed files; unknown names are reported, not applied. */
export async function resolveLoras(host: ModelHost, tags: readonly LoraTag[], warnings: string[], ignored: string[]): Promise<RequestLoras> {
  if (tags.length === 0) return { key: '', reports: [] };
  if (host.loraDir === undefined) {
    ignored.push(`LoRA tags (${tags.map((t) => t.name).join(', ')}): the server was started without --lora-dir`);
    return { key: '', reports: [] };
  }
  const listed = new Map((await host.loras()).map((l) => [l.name, l]));
  const found = tags.filter((t) => listed.has(t.name));
  const missing = tags.filter((t) => !listed.has(t.name)).map((t) => t.name);
  if (missing.length > 0) warnings.push(`Lora not found: ${missing.join(', ')} (GET /sdapi/v1/loras lists them)`);
  const reports = await Promise.all(found.map(async (t) => {
    const file = listed.get(t.name)!.file;
    return { file, name: t.name, weight: t.weight, from: 'prompt' as const, hash: await loraShortHash(file) };
  }));
  return { key: reports.map((r) => `${r.name}:${r.weight}:${r.hash}`).join(','), reports };
}

/** GET /sdapi/v1/loras: A1111's shape. `path` is the file's name within --lora-dir, not the server's absolute path. */
export async function loraList(host: ModelHost): Promise<Record<string, unknown>[]> {
  return Promise.all((await host.loras()).map(async (l: ListedLora) => {
    const metadata: Readonly<Record<string, string>> = await openLoraFile(l.file).then((f) => f.metadata, () => ({}));
    return { name: l.name, alias: metadata.ss_output_name ?? l.name, path: `${l.name}.safetensors`, metadata };
  }));
}
