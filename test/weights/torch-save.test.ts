// The torch.save writer: our .bin / A1111 .pt embedding files read back through the reader that
// executes nothing, as the fixture's A1111 and diffusers files do.
import { describe, expect, it } from 'vitest';

import { a1111EmbeddingBytes, Generator, readEmbeddingFile, TorchCheckpoint, torchSave } from '../../src/node.js';
import { bytesSource } from '../../src/weights/byte-source.js';

describe('torchSave', () => {
  const vectors = new Generator(0).randn([2, 32]);

  it('writes an A1111 embedding the reader takes as format "a1111" with its name and vectors', async () => {
    const bytes = a1111EmbeddingBytes('my-style', vectors, { step: 30 });
    const read = await readEmbeddingFile({ name: 'my-style.pt', bytes });
    expect(read).toMatchObject({ format: 'a1111', token: 'my-style' });
    expect(read.embedding.shape).toEqual([2, 32]);
    expect([...read.embedding.data]).toEqual([...vectors.data]);
    const root = (await TorchCheckpoint.fromSource(bytesSource('x.pt', bytes))).root as Map<string, unknown>;
    expect([...root.keys()]).toEqual(['string_to_token', 'string_to_param', 'name', 'step', 'sd_checkpoint', 'sd_checkpoint_name']);
    expect(root.get('step')).toBe(30);
    expect((root.get('string_to_token') as Map<string, unknown>).get('*')).toBe(265);
  });

  it('writes a diffusers learned_embeds.bin ({token: [n, H]}) with the storage 64-byte aligned', async () => {
    const bytes = torchSave({ '<concept>': vectors });
    const read = await readEmbeddingFile({ name: 'learned_embeds.bin', bytes });
    expect(read).toMatchObject({ format: 'diffusers', token: '<concept>' });
    expect([...read.embedding.data]).toEqual([...vectors.data]);
    const at = Buffer.from(bytes).indexOf(Buffer.from(new Uint8Array(vectors.data.buffer, 0, 16)));
    expect(at % 64).toBe(0);
  });
});
