// The torch.save reader: the real single-file checkpoint and the embedding fixtures read in place
// and equal to their safetensors twins; every pickle protocol (0–5, made by Python's pickle) read
// to the same plain data; the legacy stream and zip64 archives; and the refusals — globals off the
// allow-list (os.system via REDUCE runs nothing), unsafe zip names, overlapping or compressed
// entries, bad tensors.
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readEmbeddingFile } from '../../src/weights/embedding-file.js';
import { PYTHON_GLOBALS } from '../../src/weights/pickle/globals.js';
import { unpickle } from '../../src/weights/pickle/machine.js';
import { SafetensorsFile } from '../../src/weights/safetensors-file.js';
import { TorchCheckpoint } from '../../src/weights/torch/checkpoint.js';
import { isTorchTensor, TorchTensorRef, torchGlobals } from '../../src/weights/torch/rebuild.js';
import { fixturePath, readJson } from '../helpers/fixtures.js';
import { expectCode } from './tmp.js';
import { f32Bytes, makeZip, Pickle, torchLegacy, torchZip } from './torch-maker.js';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));
const plain = (bytes: Uint8Array) => unpickle(bytes, { file: 'test.pkl', globals: PYTHON_GLOBALS }).value;

// pickle.dumps(obj, protocol=p) for p = 0..5 of
// {'a': [1, -2, 3.5, 'ü', b'\x00\xff', True, None, (1, 2), 2**70, -2**63], 'b': OrderedDict([('x', 1)]),
//  's': {1, 2}, 'f': frozenset([3]), 'big': 123456789, 'neg': -5}
const PROTOCOLS = [
  '286470300a56610a70310a286c70320a49310a61492d320a6146332e350a6156fc0a70330a61635f636f646563730a656e636f64650a70340a28565c7530303030ff0a70350a566c6174696e310a70360a7470370a5270380a614930310a614e612849310a49320a7470390a614c313138303539313632303731373431313330333432344c0a614c2d393232333337323033363835343737353830384c0a617356620a7031300a63636f6c6c656374696f6e730a4f726465726564446963740a7031310a2874527031320a56780a7031330a49310a737356730a7031340a635f5f6275696c74696e5f5f0a7365740a7031350a28286c7031360a49310a6149320a61747031370a527031380a7356660a7031390a635f5f6275696c74696e5f5f0a66726f7a656e7365740a7032300a28286c7032310a49330a61747032320a527032330a73566269670a7032340a493132333435363738390a73566e65670a7032350a492d350a732e',
  '7d71002858010000006171015d7102284b014afeffffff47400c0000000000005802000000c3bc7103635f636f646563730a656e636f64650a710428580300000000c3bf710558060000006c6174696e3171067471075271084930310a4e284b014b027471094c313138303539313632303731373431313330333432344c0a4c2d393232333337323033363835343737353830384c0a65580100000062710a63636f6c6c656374696f6e730a4f726465726564446963740a710b2952710c580100000078710d4b0173580100000073710e635f5f6275696c74696e5f5f0a7365740a710f285d7110284b014b02657471115271125801000000667113635f5f6275696c74696e5f5f0a66726f7a656e7365740a7114285d71154b0361747116527117580300000062696771184a15cd5b0758030000006e656771194afbffffff752e',
  '80027d71002858010000006171015d7102284b014afeffffff47400c0000000000005802000000c3bc7103635f636f646563730a656e636f64650a7104580300000000c3bf710558060000006c6174696e317106867107527108884e4b014b028671098a090000000000000000408a08000000000000008065580100000062710a63636f6c6c656374696f6e730a4f726465726564446963740a710b2952710c580100000078710d4b0173580100000073710e635f5f6275696c74696e5f5f0a7365740a710f5d7110284b014b02658571115271125801000000667113635f5f6275696c74696e5f5f0a66726f7a656e7365740a71145d71154b0361857116527117580300000062696771184a15cd5b0758030000006e656771194afbffffff752e',
  '80037d71002858010000006171015d7102284b014afeffffff47400c0000000000005802000000c3bc7103430200ff7104884e4b014b028671058a090000000000000000408a08000000000000008065580100000062710663636f6c6c656374696f6e730a4f726465726564446963740a71072952710858010000007871094b0173580100000073710a636275696c74696e730a7365740a710b5d710c284b014b026585710d52710e580100000066710f636275696c74696e730a66726f7a656e7365740a71105d71114b0361857112527113580300000062696771144a15cd5b0758030000006e656771154afbffffff752e',
  '8004959b000000000000007d94288c0161945d94284b014afeffffff47400c0000000000008c02c3bc94430200ff94884e4b014b0286948a090000000000000000408a080000000000000080658c0162948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c0178944b01738c0173948f94284b014b02908c016694284b0391948c03626967944a15cd5b078c036e6567944afbffffff752e',
  '8005959b000000000000007d94288c0161945d94284b014afeffffff47400c0000000000008c02c3bc94430200ff94884e4b014b0286948a090000000000000000408a080000000000000080658c0162948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c0178944b01738c0173948f94284b014b02908c016694284b0391948c03626967944a15cd5b078c036e6567944afbffffff752e',
];

describe('pickle interpreter', () => {
  it.each(PROTOCOLS.map((h, p) => [p, h] as const))('protocol %i gives the same plain data', (_p, h) => {
    const v = plain(hex(h)) as Map<string, unknown>;
    const a = v.get('a') as unknown[];
    expect(a.slice(0, 4)).toEqual([1, -2, 3.5, 'ü']);
    expect(a[4]).toEqual(Uint8Array.from([0, 255]));
    expect(a.slice(5, 7)).toEqual([true, null]);
    expect(a[7]).toEqual([1, 2]);
    expect(Object.isFrozen(a[7])).toBe(true);
    expect(a.slice(8)).toEqual([2n ** 70n, -(2n ** 63n)]);
    expect(v.get('b')).toEqual(new Map([['x', 1]]));
    expect(v.get('s')).toEqual(new Set([1, 2]));
    expect(v.get('f')).toEqual(new Set([3]));
    expect([v.get('big'), v.get('neg')]).toEqual([123456789, -5]);
  });

  it('reads Python 2 strings (STRING with escapes, BINSTRING)', () => {
    expect(plain(new TextEncoder().encode("S'a\\nb\\x41\\'c'\n."))).toBe("a\nbA'c");
    expect(plain(Uint8Array.from([0x80, 2, 0x54, 2, 0, 0, 0, 0x68, 0x69, 0x2e]))).toBe('hi');
  });

  it('refuses os.system via REDUCE before anything runs, naming the file and the global', async () => {
    const marker = join(tmpdir(), `latentlab-pwned-${process.pid}`);
    const evil = new Pickle().proto(2).global('os', 'system').str(`touch ${marker}`).tuple1().reduce().stop().bytes();
    const e = await expectCode(() => unpickle(evil, { file: 'evil.pkl', globals: PYTHON_GLOBALS }), 'PICKLE_GLOBAL_REFUSED');
    expect(e.message).toContain('evil.pkl');
    expect(e.message).toContain('os.system');
    expect(e.file).toBe('evil.pkl');
    // The same inside a torch archive, as a malicious .ckpt would carry it.
    const ckpt = torchZip('evil', evil, {});
    const e2 = await expectCode(TorchCheckpoint.open({ name: 'evil.ckpt', bytes: ckpt }), 'PICKLE_GLOBAL_REFUSED');
    expect(e2.message).toContain('evil.ckpt');
    await expectCode(readEmbeddingFile({ name: 'evil.pt', bytes: ckpt }), 'PICKLE_GLOBAL_REFUSED');
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    ['builtins.eval (STACK_GLOBAL)', new Pickle().proto(4).op(0x8c, [8], new TextEncoder().encode('builtins')).op(0x8c, [4], new TextEncoder().encode('eval')).op(0x93)],
    ['__builtin__.getattr', new Pickle().proto(2).global('__builtin__', 'getattr')],
    ['subprocess.Popen (INST)', new Pickle().mark().str('ls').op(0x69, [...new TextEncoder().encode('subprocess\nPopen\n')])],
    ['posix.system', new Pickle().proto(2).global('posix', 'system')],
    ['torch.load', new Pickle().proto(2).global('torch', 'load')],
  ])('refuses %s', async (_name, p) => {
    await expectCode(() => plain(p.str('x').tuple1().reduce().stop().bytes()), 'PICKLE_GLOBAL_REFUSED');
  });

  it('gives typed errors for malformed programs', async () => {
    await expectCode(() => plain(Uint8Array.from([0x80, 2, 0x7d])), 'PICKLE_TRUNCATED');
    await expectCode(() => plain(Uint8Array.from([0x80, 2, 0xff, 0x2e])), 'PICKLE_BAD_OPCODE');
    await expectCode(() => plain(Uint8Array.from([0x80, 2, 0x2e])), 'PICKLE_MALFORMED');
    await expectCode(() => plain(Uint8Array.from([0x80, 2, 0x68, 7, 0x2e])), 'PICKLE_MALFORMED');
    await expectCode(() => plain(Uint8Array.from([0x80, 6, 0x4e, 0x2e])), 'PICKLE_UNSUPPORTED');
    await expectCode(() => plain(Uint8Array.from([0x80, 4, 0x8d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x2e])), 'PICKLE_TRUNCATED');
    await expectCode(() => plain(Uint8Array.from([0x80, 2, 0x8b, 0, 0, 1, 0, ...new Uint8Array(65536), 0x2e])), 'PICKLE_LIMIT');
    await expectCode(() => plain(new Pickle().proto(2).int(1).int(2).append().stop().bytes()), 'PICKLE_MALFORMED');
  });

  it('describes deep values shallowly in its errors (a deep dict key, size or argument)', async () => {
    const deep = [0x29, ...new Array<number>(200_000).fill(0x85)];
    const twoKeys = new Pickle().proto(2).emptyDict().raw(deep).int(1).setitem().str('x').int(2).setitem().stop().bytes();
    const e = await expectCode(readEmbeddingFile({ name: 'deep.pt', bytes: torchZip('deep', twoKeys, {}) }), 'EMBEDDING_FORMAT');
    expect(e.message).toContain('tuple of 1');
    const size = new Pickle().proto(2).global('torch', 'Size').raw(deep).tuple1().reduce().stop().bytes();
    await expectCode(() => unpickle(size, { file: 'x', globals: torchGlobals('x') }), 'PICKLE_MALFORMED');
  });

  it('survives a million levels of nesting (no recursion)', () => {
    // n EMPTY_LISTs on the stack, then n - 1 APPENDs: each list goes into the one below it.
    const n = 1_000_000;
    const deep = new Uint8Array(2 + 2 * n + 1);
    deep.set([0x80, 2]);
    let at = 2;
    for (let i = 0; i < n; i++) deep[at++] = 0x5d;
    for (let i = 0; i < n - 1; i++) deep[at++] = 0x61;
    deep[at++] = 0x2e;
    let v = plain(deep.subarray(0, at)) as unknown[];
    let depth = 1;
    while (v.length === 1) {
      v = v[0] as unknown[];
      depth++;
    }
    expect(depth).toBe(n);
  });
});

describe('torch checkpoints', () => {
  it('reads the real single-file .ckpt in place: every tensor equals its safetensors twin', async () => {
    const path = fixturePath('single_file', 'tiny-sd15.ckpt');
    const ckpt = await TorchCheckpoint.open(path);
    const root = ckpt.root as Map<string, unknown>;
    const index = readJson<{ files: { file: string; top_level_keys: string[]; num_tensors: number }[] }>('single_file', 'index.json');
    const entry = index.files.find((f) => f.file === 'tiny-sd15.ckpt')!;
    expect([...root.keys()]).toEqual(entry.top_level_keys);
    expect(root.get('global_step')).toBe(840000);
    const sd = root.get('state_dict') as Map<string, TorchTensorRef>;
    const twin = await SafetensorsFile.open(fixturePath('single_file', 'tiny-sd15.safetensors'));
    expect([...sd.keys()].sort()).toEqual([...twin.keys].sort());
    const bytes = readFileSync(path);
    const twinBytes = readFileSync(twin.path);
    for (const [key, ref] of sd) {
      expect(isTorchTensor(ref)).toBe(true);
      const want = twin.entry(key);
      expect([ref.dtype, ref.shape], key).toEqual([want.dtype, want.shape]);
      expect(ref.file).toBe(path);
      // In place: the reference's bytes in the file are the tensor.
      const got = bytes.subarray(ref.offset, ref.offset + ref.length);
      const wantBytes = twinBytes.subarray(want.begin, want.end);
      expect(Buffer.compare(got, wantBytes), key).toBe(0);
    }
    expect(sd.size).toBe(entry.num_tensors);
  });

  it('reads the embedding fixtures (.bin, A1111 .pt)', async () => {
    const bin = await TorchCheckpoint.open(fixturePath('reference', 'tiny-sd15', 'textual_inversion', 'learned_embeds.bin'));
    const t = (bin.root as Map<string, TorchTensorRef>).get('<cat-toy>')!;
    expect([t.dtype, t.shape]).toEqual(['float32', [32]]);
    const st = await SafetensorsFile.open(fixturePath('reference', 'tiny-sd15', 'textual_inversion', 'learned_embeds.safetensors'));
    expect((await bin.read(t)).data).toEqual((await st.read('<cat-toy>')).data);
    const pt = await TorchCheckpoint.open(fixturePath('reference', 'tiny-sd15', 'textual_inversion', 'my-style.pt'));
    const root = pt.root as Map<string, unknown>;
    expect(root.get('name')).toBe('my-style');
    expect(root.get('string_to_token')).toEqual(new Map([['*', 265]]));
    expect([root.get('sd_checkpoint'), root.get('step')]).toEqual([null, 1000]);
  });

  it('reads the legacy (pre-zip) stream and zip64 archives', async () => {
    const data = f32Bytes([1, 2, 3, 4, 5, 6]);
    const legacy = torchLegacy((p) => p.emptyDict().str('w').legacyTensor('FloatStorage', '94', 6, [2, 3]).setitem(), { 94: { numel: 6, data } });
    const a = await TorchCheckpoint.open({ name: 'old.pt', bytes: legacy });
    expect(a.format).toBe('legacy');
    const w = (a.root as Map<string, TorchTensorRef>).get('w')!;
    expect(Array.from((await a.read(w)).data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    const z = torchZip('x', new Pickle().proto(2).emptyDict().str('w').tensor('FloatStorage', '0', 6, [3, 2]).setitem().stop().bytes(), { 0: data }, { zip64: true });
    const b = await TorchCheckpoint.open({ name: 'big.pt', bytes: z });
    const v = (b.root as Map<string, TorchTensorRef>).get('w')!;
    expect([v.shape, Array.from((await b.read(v)).data as Float32Array)]).toEqual([[3, 2], [1, 2, 3, 4, 5, 6]]);
  });

  const ok = () => new Pickle().proto(2).emptyDict().str('w').tensor('FloatStorage', '0', 4, [4]).setitem().stop().bytes();
  it.each([
    ['a traversal name', () => makeZip([{ name: 'x/data.pkl', data: ok() }, { name: '../../etc/passwd', data: new Uint8Array(1) }]), 'ZIP_UNSAFE_NAME'],
    ['an absolute name', () => makeZip([{ name: '/x/data.pkl', data: ok() }]), 'ZIP_UNSAFE_NAME'],
    ['a backslash name', () => makeZip([{ name: 'x\\..\\data.pkl', data: ok() }]), 'ZIP_UNSAFE_NAME'],
    ['a duplicate name', () => makeZip([{ name: 'x/data.pkl', data: ok() }, { name: 'x/data.pkl', data: ok() }]), 'ZIP_UNSAFE_NAME'],
    ['overlapping entries', () => makeZip([{ name: 'x/data.pkl', data: ok() }, { name: 'x/data/0', data: f32Bytes([1, 2, 3, 4]) }], { localOffsets: (o) => [o[0], o[0]] }), 'ZIP_OVERLAP'],
    ['a compressed entry', () => makeZip([{ name: 'x/data.pkl', data: ok(), method: 8 }]), 'ZIP_UNSUPPORTED'],
    ['a claimed size of 4 GB (zip bomb)', () => makeZip([{ name: 'x/data.pkl', data: ok(), claimedSize: 0xfffffff0 }]), 'ZIP_LIMIT'],
    ['a bad CRC', () => { const z = makeZip([{ name: 'x/data.pkl', data: ok() }]); z[14] ^= 1; return patchCentralCrc(z); }, 'ZIP_CRC'],
    ['a truncated archive', () => makeZip([{ name: 'x/data.pkl', data: ok() }]).subarray(0, 40), 'ZIP_TRUNCATED'],
    ['a missing storage', () => torchZip('x', ok(), {}), 'TORCH_FORMAT'],
    ['a short storage', () => torchZip('x', ok(), { 0: f32Bytes([1, 2]) }), 'TORCH_FORMAT'],
    ['a tensor past its storage', () => torchZip('x', new Pickle().proto(2).tensor('FloatStorage', '0', 4, [4], 2).stop().bytes(), { 0: f32Bytes([1, 2, 3, 4]) }), 'PICKLE_MALFORMED'],
    ['an int8 storage', () => torchZip('x', new Pickle().proto(2).tensor('CharStorage', '0', 4, [4]).stop().bytes(), { 0: new Uint8Array(4) }), 'PICKLE_GLOBAL_REFUSED'],
    ['no data.pkl', () => makeZip([{ name: 'x/other', data: new Uint8Array(3) }]), 'TORCH_FORMAT'],
    ['random bytes', () => Uint8Array.from([1, 2, 3, 4, 5]), 'TORCH_NOT_A_CHECKPOINT'],
    ['an empty file', () => new Uint8Array(0), 'TORCH_EMPTY'],
  ])('refuses %s', async (_what, make, code) => {
    await expectCode(TorchCheckpoint.open({ name: 'bad.pt', bytes: make() }), code);
  });
});

/** After flipping a bit in the local header's CRC field, make the central record agree, so only the data check fails. */
function patchCentralCrc(z: Uint8Array): Uint8Array {
  const cd = z.findIndex((_, i) => z[i] === 0x50 && z[i + 1] === 0x4b && z[i + 2] === 1 && z[i + 3] === 2);
  z[cd + 16] ^= 1;
  return z;
}
