// The fuzz suite of the torch/pickle/zip readers: seeded, mutated and generated inputs, each of
// which must give a typed LatentlabError or a correct result — never another exception (a crash),
// a hang, unbounded memory, or executed code. `npm test` runs a bounded slice (torch.test.ts); the
// full run is `npm run fuzz` (10,000 cases by default; main.ts).
//
// Inputs: the embedding fixtures (.bin, A1111 .pt), the real .ckpt's pickle, hand-made legacy and
// zip64 files, plus generators for deep nesting, huge claimed sizes, zip bombs (overlapping
// entries, lying sizes, compressed entries, many entries), path-traversal names and hostile globals.
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { concatBytes } from '../../src/core/bytes.js';
import { LatentlabError } from '../../src/core/errors.js';
import { readEmbeddingFile } from '../../src/weights/embedding-file.js';
import { unpickle } from '../../src/weights/pickle/machine.js';
import type { PickleValue } from '../../src/weights/pickle/values.js';
import { TorchCheckpoint } from '../../src/weights/torch/checkpoint.js';
import { isTorchTensor, TorchStorage, torchGlobals } from '../../src/weights/torch/rebuild.js';
import { fixturePath } from '../helpers/fixtures.js';
import { f32Bytes, le, makeZip, Pickle, torchLegacy, torchZip } from '../weights/torch-maker.js';

/** mulberry32: a small seeded generator, so every run of a seed is the same run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const MARKER = join(tmpdir(), `latentlab-fuzz-executed-${process.pid}`);
const OPCODES = [...'(.012FIJKLMNPQRSTUVXabcdeghijlopqrstu}]),BCG'].map((c) => c.charCodeAt(0)).concat(Array.from({ length: 0x99 - 0x80 }, (_, i) => 0x80 + i));
const EVIL_NAMES = ['../../etc/passwd', '/etc/passwd', 'C:\\windows\\x', 'x/../../y', 'x/./data.pkl', 'x\\data.pkl', 'x/data\u0000.pkl', ''];
const EVIL_GLOBALS = [['os', 'system'], ['posix', 'system'], ['builtins', 'eval'], ['builtins', 'exec'], ['__builtin__', 'getattr'], ['subprocess', 'Popen'], ['ctypes', 'CDLL'], ['torch', 'load'], ['builtins', 'open']];

export interface FuzzSeeds {
  files: Uint8Array[];
  pickles: Uint8Array[];
}

export function loadSeeds(): FuzzSeeds {
  const ti = (f: string) => readFileSync(fixturePath('reference', 'tiny-sd15', 'textual_inversion', f));
  const ckpt = readFileSync(fixturePath('single_file', 'tiny-sd15.ckpt'));
  // The real checkpoint's data.pkl is the first entry, stored: its bytes follow the 30-byte local header, name and extra field.
  const view = new DataView(ckpt.buffer, ckpt.byteOffset);
  const pklStart = 30 + view.getUint16(26, true) + view.getUint16(28, true);
  const realPickle = new Uint8Array(ckpt.subarray(pklStart, pklStart + view.getUint32(22, true)));
  const w = f32Bytes([1, 2, 3, 4, 5, 6]);
  const dictPickle = new Pickle().proto(2).emptyDict().binput(0).mark().str('w').tensor('FloatStorage', '0', 6, [2, 3]).str('v').tensor('FloatStorage', '0', 3, [3], 3)
    .str('n').int(5).str('l').emptyList().binput(1).mark().float(1.5).str('é').none().binget(1).appends().setitems().stop().bytes();
  return {
    files: [
      ti('learned_embeds.bin'), ti('my-style.pt'), ti('learned_embeds.safetensors'),
      torchZip('x', dictPickle, { 0: w }), torchZip('y', dictPickle, { 0: w }, { zip64: true }),
      torchLegacy((p) => p.emptyDict().str('w').legacyTensor('FloatStorage', '7', 6, [6]).setitem(), { 7: { numel: 6, data: w } }),
    ],
    pickles: [realPickle, dictPickle, ti('my-style.pt').subarray(0, 0)].filter((p) => p.length > 0),
  };
}

type Gen = (r: () => number, seeds: FuzzSeeds) => { kind: 'file' | 'pickle'; bytes: Uint8Array };

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: () => number, n: number) => Math.floor(r() * n);

const cat = (...parts: Uint8Array[]) => concatBytes(parts);

function mutate(r: () => number, src: Uint8Array): Uint8Array {
  let b: Uint8Array = new Uint8Array(src);
  const rounds = 1 + int(r, 3);
  for (let k = 0; k < rounds && b.length > 0; k++) {
    const at = int(r, b.length);
    switch (int(r, 7)) {
      case 0: b = b.subarray(0, at); break; // truncation
      case 1: for (let i = 1 + int(r, 8); i > 0; i--) b[int(r, b.length)] ^= 1 << int(r, 8); break; // bit flips
      case 2: b[at] = pick(r, OPCODES); break; // a wrong opcode
      case 3: { // inserted opcodes
        const ins = Uint8Array.from({ length: 1 + int(r, 8) }, () => pick(r, OPCODES));
        b = cat(b.subarray(0, at), ins, b.subarray(at));
        break;
      }
      case 4: b = cat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(r, 64)))); break; // a deleted range
      case 5: b.set(pick(r, [[0xff, 0xff, 0xff, 0x7f], [0xff, 0xff, 0xff, 0xff], [0, 0, 0, 0x80], [0xfe, 0xff, 0xff, 0xff]]).slice(0, b.length - at), at); break; // huge claimed sizes
      default: { // a duplicated chunk
        const len = 1 + int(r, 256);
        b = cat(b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len));
      }
    }
  }
  return b;
}

const GENERATORS: [number, Gen][] = [
  [40, (r, s) => ({ kind: 'file', bytes: mutate(r, pick(r, s.files)) })],
  [25, (r, s) => ({ kind: 'pickle', bytes: mutate(r, pick(r, s.pickles)) })],
  [6, (r) => { // deep nesting: lists, tuples or dicts, up to 200,000 levels
    const depth = 1 + int(r, 200_000);
    const open = pick(r, [[0x5d], [0x28], [0x7d]]);
    const close = pick(r, [[0x61], [0x74], [0x85, 0x61], [0x73]]);
    const body = new Uint8Array(2 + depth * (open.length + close.length) + 1);
    body.set([0x80, 2]);
    let at = 2;
    for (let i = 0; i < depth; i++, at += open.length) body.set(open, at);
    for (let i = 0; i < depth; i++, at += close.length) body.set(close, at);
    body[at] = 0x2e;
    return { kind: 'pickle', bytes: body };
  }],
  [6, (r) => { // huge claimed lengths right after a length-taking opcode
    const op = pick(r, [0x58, 0x8d, 0x42, 0x8e, 0x96, 0x8b, 0x54, 0x95, 0x6a, 0x72]);
    const size = pick(r, [le(0xffffffff, 4), le(2 ** 31 - 1, 4), [...le(0xffffffff, 4), ...le(0xffffffff, 4)], [...le(0, 4), ...le(0x10, 4)]]);
    return { kind: 'pickle', bytes: Uint8Array.from([0x80, 4, op, ...size, 0x61, 0x62, 0x2e]) };
  }],
  [8, (r) => { // zip bombs and lying archives
    const pkl = new Pickle().proto(2).tensor('FloatStorage', '0', 4, [4]).stop().bytes();
    const entries = [{ name: 'x/data.pkl', data: pkl }, { name: 'x/data/0', data: f32Bytes([1, 2, 3, 4]) }];
    switch (int(r, 5)) {
      case 0: return { kind: 'file', bytes: makeZip(entries, { localOffsets: (o) => o.map(() => o[0]) }) }; // every entry on one local header
      case 1: return { kind: 'file', bytes: makeZip(entries.map((e) => ({ ...e, claimedSize: pick(r, [0xffffffff, 2 ** 31, 1e9]) }))) };
      case 2: return { kind: 'file', bytes: makeZip(entries.map((e) => ({ ...e, method: pick(r, [8, 9, 12, 14, 99]) }))) };
      case 3: return { kind: 'file', bytes: makeZip(Array.from({ length: 2000 + int(r, 3000) }, (_, i) => ({ name: `x/data/${i}`, data: new Uint8Array(0) }))) };
      default: return { kind: 'file', bytes: makeZip([...entries, { name: 'x/data/1', data: makeZip(entries) }], { zip64: r() < 0.5 }) }; // an archive in an archive
    }
  }],
  [5, (r) => { // path traversal and other unsafe names
    const pkl = new Pickle().proto(2).none().stop().bytes();
    return { kind: 'file', bytes: makeZip([{ name: 'x/data.pkl', data: pkl }, { name: pick(r, EVIL_NAMES), data: new Uint8Array(4) }]) };
  }],
  [10, (r) => { // hostile globals, called every way a pickle can call
    const [m, n] = pick(r, EVIL_GLOBALS);
    const p = new Pickle().proto(pick(r, [0, 2, 4]));
    const how = int(r, 4);
    if (how === 3) p.mark().str(`touch ${MARKER}`).op(0x69, [...new TextEncoder().encode(`${m}\n${n}\n`)]);
    else {
      if (how === 2) p.op(0x8c, [m.length], new TextEncoder().encode(m)).op(0x8c, [n.length], new TextEncoder().encode(n)).op(0x93);
      else p.global(m, n);
      p.str(`touch ${MARKER}`).tuple1().op(how === 1 ? 0x81 : 0x52);
    }
    const bytes = p.stop().bytes();
    return r() < 0.5 ? { kind: 'pickle', bytes } : { kind: 'file', bytes: torchZip('evil', bytes, {}) };
  }],
];
/** A tuple nested `depth` levels deep, in 1 + depth bytes: EMPTY_TUPLE, then TUPLE1 again and again. */
export function deepTuple(depth: number): number[] {
  return [0x29, ...new Array<number>(depth).fill(0x85)];
}

// Deep values where the loaders expect plain data (a dict key, a size, an encoding name): the error
// messages describe values shallowly, so none of these may recurse.
GENERATORS.push([6, (r) => {
  const deep = deepTuple(50_000 + int(r, 150_000));
  const p = new Pickle().proto(2);
  switch (int(r, 4)) {
    case 0: p.emptyDict().raw(deep).int(1).setitem().str('x').int(2).setitem(); break; // an "embedding" with a deep key
    case 1: p.global('torch._utils', '_rebuild_tensor_v2').mark().mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(4).tuple().binpersid()
      .int(0).raw(deep).tuple1().mark().int(1).tuple().bool(false).none().tuple().reduce(); break; // a deep size
    case 2: p.global('_codecs', 'encode').str('a').raw(deep).tuple2().reduce(); break; // a deep encoding name
    default: p.global('collections', 'OrderedDict').raw(deep).tuple1().tuple1().reduce(); // deep pairs
  }
  const bytes = p.stop().bytes();
  return { kind: 'file', bytes: torchZip('deep', bytes, { 0: f32Bytes([1, 2, 3, 4]) }) };
}]);
const TOTAL = GENERATORS.reduce((s, [w]) => s + w, 0);

export interface FuzzReport {
  cases: number;
  accepted: number;
  /** Refusals by error code. */
  refused: Record<string, number>;
  /** Anything that was not a LatentlabError: must stay empty. */
  crashes: { case: number; error: string }[];
  slowestMs: number;
  totalMs: number;
  maxHeapMb: number;
  executed: boolean;
}

/** Reads one case the way users' code would: open, then read every tensor reachable (a bounded walk). */
async function readCase(kind: 'file' | 'pickle', bytes: Uint8Array, n: number): Promise<void> {
  if (kind === 'pickle') {
    const storage = new TorchStorage('0', 'float32', 1 << 20);
    unpickle(bytes, { file: `case-${n}.pkl`, globals: torchGlobals(`case-${n}.pkl`), persistentLoad: () => storage });
    return;
  }
  const file = { name: `case-${n}.pt`, bytes };
  if (n % 3 === 0) {
    await readEmbeddingFile(file);
    return;
  }
  const ckpt = await TorchCheckpoint.open(file);
  const todo: PickleValue[] = [ckpt.root];
  const seen = new Set<unknown>();
  for (let visits = 0; todo.length > 0 && visits < 10_000; visits++) {
    const v = todo.pop()!;
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (isTorchTensor(v)) await ckpt.read(v);
    else if (Array.isArray(v)) todo.push(...(v as PickleValue[]).slice(0, 1000));
    else if (v instanceof Map) todo.push(...[...v.values()].slice(0, 1000));
  }
}

export async function fuzzTorchReaders(o: { cases: number; seed: number; onProgress?: (done: number) => void }): Promise<FuzzReport> {
  const seeds = loadSeeds();
  const r = rng(o.seed);
  const report: FuzzReport = { cases: 0, accepted: 0, refused: {}, crashes: [], slowestMs: 0, totalMs: 0, maxHeapMb: 0, executed: false };
  const start = performance.now();
  for (let n = 0; n < o.cases; n++) {
    let x = r() * TOTAL;
    const gen = GENERATORS.find(([w]) => (x -= w) < 0)?.[1] ?? GENERATORS[0][1];
    const { kind, bytes } = gen(r, seeds);
    const t0 = performance.now();
    try {
      await readCase(kind, bytes, n);
      report.accepted++;
    } catch (e) {
      if (e instanceof LatentlabError) report.refused[e.code] = (report.refused[e.code] ?? 0) + 1;
      else report.crashes.push({ case: n, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
    report.slowestMs = Math.max(report.slowestMs, performance.now() - t0);
    report.cases++;
    if (n % 200 === 0) report.maxHeapMb = Math.max(report.maxHeapMb, process.memoryUsage().heapUsed / 2 ** 20);
    if (n % 1000 === 999) o.onProgress?.(n + 1);
  }
  report.totalMs = performance.now() - start;
  report.executed = existsSync(MARKER);
  return report;
}
