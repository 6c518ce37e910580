// SessionCache's leases: a server keeps a model's sessions between calls and may run two calls at
// once, so evicting (or releasing) a session another call is running inside must wait for that run.
// Real ONNX Runtime sessions on a tiny graph; the lease is taken synchronously when `run` is
// called, so the interleavings below are deterministic.

import '../../src/platform/node/index.js';

import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops/index.js';
import { SessionCache } from '../../src/models/pretrained.js';

/** y = x · k, a graph per key. */
function times(k: number): () => Graph {
  return () => {
    const g = new Graph(`times-${k}`);
    g.output('y', op.mul(g.input('x', 'float32', ['batch', 4]), k));
    return g;
  };
}

const x = Tensor.float32([1, 4], [1, 2, 3, 4]);
const values = (r: Record<string, Tensor>) => Array.from(r.y.data as Float32Array);

describe('SessionCache leases', () => {
  it('keeps a session that a running call holds when another call evicts it, and frees it after', async () => {
    const cache = new SessionCache(new Map(), {}, 1);
    const first = cache.run('a', times(2), { x });
    expect(cache.stats).toEqual({ sessions: 1, running: 1, retired: 0 });
    const second = cache.run('b', times(3), { x }); // evicts 'a' (maxSessions 1) while the first call is inside it
    expect(cache.stats).toEqual({ sessions: 1, running: 2, retired: 1 });
    expect(values(await first)).toEqual([2, 4, 6, 8]);
    expect(values(await second)).toEqual([3, 6, 9, 12]);
    expect(cache.stats).toEqual({ sessions: 1, running: 0, retired: 0 });
    await cache.release();
    expect(cache.stats).toEqual({ sessions: 0, running: 0, retired: 0 });
  });

  it('release() during a run frees the session when the run returns; the next call compiles a new one', async () => {
    const cache = new SessionCache(new Map(), {});
    const running = cache.run('a', times(5), { x });
    await cache.release();
    expect(cache.stats).toEqual({ sessions: 0, running: 1, retired: 1 });
    expect(values(await running)).toEqual([5, 10, 15, 20]);
    expect(cache.stats.retired).toBe(0);
    expect(values(await cache.run('a', times(5), { x }))).toEqual([5, 10, 15, 20]);
    await cache.release();
  });

  it('two calls sharing one session both hold it; it is reused, not compiled twice', async () => {
    const cache = new SessionCache(new Map(), {});
    const [r1, r2] = await Promise.all([cache.run('a', times(2), { x }), cache.run('a', times(7), { x })]);
    expect(values(r1)).toEqual([2, 4, 6, 8]);
    expect(values(r2)).toEqual([2, 4, 6, 8]); // the key names the graph: the second build is never called
    expect(cache.stats).toEqual({ sessions: 1, running: 0, retired: 0 });
    await cache.release();
  });
});
