// Writes a checkpoint as shards + index, the layout save_pretrained(max_shard_size=...) produces.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { SafetensorsFile } from '../../src/weights/safetensors-file.js';
import { writeSafetensors } from '../../src/weights/safetensors-write.js';

export interface ShardNames {
  /** File name of shard i (1-based) of n. */
  shard: (i: number, n: number) => string;
  index: string;
}

/** Splits `source` into `n` shards in `dir` (tensors copied from the file, not loaded); returns the weight_map. */
export async function writeShards(source: string, dir: string, names: ShardNames, n = 2): Promise<Record<string, string>> {
  const src = await SafetensorsFile.open(source);
  const keys = src.keys;
  const per = Math.ceil(keys.length / n);
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (let i = 0; i < n; i++) {
    const part = keys.slice(i * per, (i + 1) * per);
    const name = names.shard(i + 1, n);
    await writeSafetensors(join(dir, name), new Map(part.map((k) => [k, src.ref(k)])), { format: 'pt' });
    for (const k of part) {
      weightMap[k] = name;
      totalSize += src.ref(k).length;
    }
  }
  writeFileSync(join(dir, names.index), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2));
  return weightMap;
}
