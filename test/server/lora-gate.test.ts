// LoraGate: requests wanting one LoRA set share the model; one wanting another waits for them to
// finish, then the set is switched once for every queued request that wants it, in arrival order.
import { describe, expect, it } from 'vitest';

import { LoraGate } from '../../src/server/models.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('LoraGate', () => {
  it('runs same-set work together, switches the set only when nothing runs, applies each switch once', async () => {
    const gate = new LoraGate();
    const log: string[] = [];
    let running = 0;
    let state = '';
    const work = (key: string, name: string) => gate.run(key, async () => {
      expect(running).toBe(0); // never switched under running work
      await tick();
      state = key;
      log.push(`apply ${key}`);
    }, async () => {
      expect(state).toBe(key);
      running++;
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      running--;
      return name;
    });
    const results = await Promise.all([work('a', 'a1'), work('a', 'a2'), work('b', 'b1'), work('a', 'a3'), work('b', 'b2'), work('', 'plain')]);
    expect(results).toEqual(['a1', 'a2', 'b1', 'a3', 'b2', 'plain']);
    expect(log.filter((l) => l.startsWith('apply'))).toEqual(['apply a', 'apply b', 'apply a', 'apply ']);
    // a1 and a2 ran together; a3 queued behind b1 (no starving b), b1 and b2 ran together; then a3, then plain.
    expect(log.slice(0, 3)).toEqual(['apply a', 'start a1', 'start a2']);
    expect(log.slice(log.indexOf('apply b'), log.indexOf('apply b') + 3)).toEqual(['apply b', 'start b1', 'start b2']);
    expect(log.indexOf('apply b')).toBeGreaterThan(log.indexOf('end a2'));
    expect(log.indexOf('start a3')).toBeGreaterThan(log.indexOf('end b2'));
    expect(log.indexOf('start plain')).toBeGreaterThan(log.indexOf('end a3'));
  });

  it('a failed switch fails its requests and the next request applies its set again', async () => {
    const gate = new LoraGate();
    await expect(gate.run('x', async () => { throw new Error('bad file'); }, async () => 1)).rejects.toThrow('bad file');
    let applied = 0;
    expect(await gate.run('x', async () => void applied++, async () => 2)).toBe(2);
    expect(applied).toBe(1);
  });
});
