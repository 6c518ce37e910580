// A pickle interpreter that executes nothing (Python's pickle protocols 0–5, as Lib/pickle.py's
// _Unpickler reads them). A pickle is a little stack-machine program; Python's unpickler runs it
// and, on GLOBAL + REDUCE, imports and calls whatever the program names — `os.system` included,
// which is why loading an untrusted .ckpt with plain torch.load can run code. Here:
//
// - GLOBAL / STACK_GLOBAL look the name up in an allow-list (globals.ts) and refuse anything else
//   on the spot, before the next opcode is read; an allowed global is a handler that builds data.
// - REDUCE, NEWOBJ, INST, OBJ only reach those handlers; BUILD only fills inert objects' state.
// - Every length is checked against the bytes that remain before anything is allocated; integers
//   wider than MAX_LONG_BYTES are refused; the interpreter is a loop (no recursion), so deep
//   nesting costs heap, not stack; memory is bounded by the input size.
// - Extension codes (EXT1/2/4) and out-of-band buffers (protocol 5) are refused: real checkpoints
//   do not use them.
//
// Every failure is a LatentlabError whose message names the file, the byte offset and the opcode.

import { LatentlabError } from '../../core/errors.js';
import { GlobalTable, lookupGlobal } from './globals.js';
import { long, MAX_LONG_BYTES, pyStringLiteral, rawUnicodeEscape } from './literals.js';
import { OPNAMES } from './opcodes.js';
import { describe, HandlerContext, isDict, isList, PickleKey, PickleValue, PyGlobal, PyObject } from './values.js';

export interface UnpickleOptions {
  /** For error messages. */
  file: string;
  globals: GlobalTable;
  /** BINPERSID / PERSID: turns a persistent id (torch: a storage tuple) into a value. */
  persistentLoad?: (pid: PickleValue) => PickleValue;
}

export { MAX_LONG_BYTES };

/** The attribute dicts BUILD gave plain containers (an OrderedDict's `_metadata`). */
export const attributes = new WeakMap<object, PickleValue>();

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, start: number, readonly fail: (msg: string, code?: string) => never) {
    this.pos = start;
  }

  take(n: number, what: string): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.bytes.byteLength - this.pos) {
      this.fail(`${what} claims ${n} bytes but only ${this.bytes.byteLength - this.pos} remain`, 'PICKLE_TRUNCATED');
    }
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  u8(): number {
    return this.take(1, 'an opcode argument')[0];
  }

  dv(n: number, what: string): DataView {
    const b = this.take(n, what);
    return new DataView(b.buffer, b.byteOffset, n);
  }

  u16(): number {
    return this.dv(2, 'a 2-byte argument').getUint16(0, true);
  }

  u32(): number {
    return this.dv(4, 'a 4-byte argument').getUint32(0, true);
  }

  i32(): number {
    return this.dv(4, 'a 4-byte argument').getInt32(0, true);
  }

  u64(): number {
    const n = this.dv(8, 'an 8-byte argument').getBigUint64(0, true);
    return n > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(n);
  }

  /** Protocol 0's newline-terminated text argument (without the newline). */
  line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('a text argument has no terminating newline', 'PICKLE_TRUNCATED');
    const s = latin1.decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
}

/** Unpickles one pickle starting at `start`; returns the value and the offset after its STOP. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions, start = 0): { value: PickleValue; end: number } {
  let opAt = start;
  let opName = '';
  const fail = (msg: string, code = 'PICKLE_MALFORMED'): never => {
    throw new LatentlabError(code, `${options.file}: pickle byte ${opAt}${opName ? ` (${opName})` : ''}: ${msg}`, {
      file: options.file,
      hint: code === 'PICKLE_GLOBAL_REFUSED'
        ? 'this file asks to run Python code that a checkpoint or embedding never needs; do not use it (if it is genuine, convert it to .safetensors with trusted tools)'
        : 'the file is damaged or not a PyTorch checkpoint; download it again or use a .safetensors version',
    });
  };
  const ctx: HandlerContext = { file: options.file, fail: (m) => fail(m) };
  const r = new Reader(bytes, start, fail);
  let stack: PickleValue[] = [];
  const marks: PickleValue[][] = [];
  const memo = new Map<number, PickleValue>();

  // Not `stack.push(f())`: JS would read `stack` before f() runs, and f may pop a MARK (replacing it).
  const push = (v: PickleValue): void => {
    stack.push(v);
  };
  const pop = (): PickleValue => (stack.length > 0 ? stack.pop()! : fail('the stack is empty'));
  const top = (): PickleValue => (stack.length > 0 ? stack[stack.length - 1] : fail('the stack is empty'));
  const popMark = (): PickleValue[] => {
    if (marks.length === 0) fail('no MARK to pop back to');
    const items = stack;
    stack = marks.pop()!;
    return items;
  };
  const tuple = (items: PickleValue[]): readonly PickleValue[] => Object.freeze(items);
  const str = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      return fail('a string is not valid UTF-8');
    }
  };
  const global = (module: string, name: string): PyGlobal => lookupGlobal(options.globals, module, name) ?? fail(
    `refused global ${module}.${name}: it is not on the allow-list of data-only globals (nothing was run)`, 'PICKLE_GLOBAL_REFUSED');
  const callable = (f: PickleValue, args: PickleValue, how: 'call' | 'instantiate'): PickleValue => {
    if (!(f instanceof PyGlobal)) return fail(`${how === 'call' ? 'REDUCE' : 'NEWOBJ'} target is a ${describe(f)}, not an allowed global`);
    if (!Array.isArray(args)) return fail(`the arguments of ${f.name} are a ${describe(args)}, not a tuple`);
    const h = f.handler[how];
    if (!h) return fail(`${f.name} cannot be ${how === 'call' ? 'called' : 'instantiated'} here`);
    return h(args, ctx);
  };
  const setItems = (target: PickleValue, items: PickleValue[]) => {
    if (!isDict(target)) fail(`SETITEM(S) on a ${describe(target)}, not a dict`);
    if (items.length % 2 !== 0) fail('SETITEMS has an odd number of items');
    for (let i = 0; i < items.length; i += 2) (target as Map<PickleKey, PickleValue>).set(items[i] as PickleKey, items[i + 1]);
  };
  const persistent = (pid: PickleValue) => (options.persistentLoad ? options.persistentLoad(pid) : fail('a persistent id, but this file type has no storages'));
  const int = (text: string): number | bigint => {
    if (!/^[+-]?\d+L?$/.test(text) || text.length > MAX_LONG_BYTES * 3) fail(`bad integer ${JSON.stringify(text.slice(0, 40))}`);
    const b = BigInt(text.replace(/L$/, ''));
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  };

  for (;;) {
    opAt = r.pos;
    if (r.pos >= bytes.byteLength) fail('the pickle ends without STOP', 'PICKLE_TRUNCATED');
    const op = bytes[r.pos++];
    opName = OPNAMES[op] ?? `0x${op.toString(16).padStart(2, '0')}`;
    switch (op) {
      case 0x80: { // PROTO
        const v = r.u8();
        if (v > 5) fail(`unsupported pickle protocol ${v}`, 'PICKLE_UNSUPPORTED');
        break;
      }
      case 0x95: // FRAME: a length hint for buffered readers; we hold the bytes already.
        if (r.u64() > bytes.byteLength - r.pos) fail('a FRAME longer than the data', 'PICKLE_TRUNCATED');
        break;
      case 0x2e: { // STOP
        const value = pop();
        if (stack.length !== 0 || marks.length !== 0) fail(`STOP with ${stack.length} values and ${marks.length} marks left over`);
        return { value, end: r.pos };
      }
      case 0x28: marks.push(stack); stack = []; break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      // ---- constants
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: push(r.i32()); break; // BININT
      case 0x4b: push(r.u8()); break; // BININT1
      case 0x4d: push(r.u16()); break; // BININT2
      case 0x8a: push(long(r.take(r.u8(), 'LONG1'), fail)); break; // LONG1
      case 0x8b: { // LONG4
        const n = r.i32();
        if (n < 0) fail('negative LONG4 length');
        push(long(r.take(n, 'LONG4'), fail));
        break;
      }
      case 0x49: { // INT: "01"/"00" are True/False in protocol 0
        const t = r.line();
        push(t === '01' ? true : t === '00' ? false : int(t));
        break;
      }
      case 0x4c: push(int(r.line())); break; // LONG
      case 0x46: { // FLOAT
        const t = r.line();
        if (!/^[+-]?(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|inf|nan|infinity)$/i.test(t)) fail(`bad float ${JSON.stringify(t.slice(0, 40))}`);
        push(Number(t.replace(/^([+-]?)inf(inity)?$/i, '$1Infinity').replace(/^[+-]?nan$/i, 'NaN')));
        break;
      }
      case 0x47: push(r.dv(8, 'BINFLOAT').getFloat64(0, false)); break; // BINFLOAT (big-endian)
      // ---- strings and bytes
      case 0x58: push(str(r.take(r.u32(), 'BINUNICODE'))); break;
      case 0x8c: push(str(r.take(r.u8(), 'SHORT_BINUNICODE'))); break;
      case 0x8d: push(str(r.take(r.u64(), 'BINUNICODE8'))); break;
      // Python 2 str: torch.load decodes them as UTF-8 (its default `encoding`).
      case 0x54: { const n = r.i32(); if (n < 0) fail('negative BINSTRING length'); push(str(r.take(n, 'BINSTRING'))); break; }
      case 0x55: push(str(r.take(r.u8(), 'SHORT_BINSTRING'))); break;
      case 0x53: push(str(pyStringLiteral(r.line(), fail))); break; // STRING
      case 0x56: push(rawUnicodeEscape(r.line(), fail)); break; // UNICODE
      case 0x42: push(r.take(r.u32(), 'BINBYTES').slice()); break;
      case 0x43: push(r.take(r.u8(), 'SHORT_BINBYTES').slice()); break;
      case 0x8e: push(r.take(r.u64(), 'BINBYTES8').slice()); break;
      case 0x96: push(r.take(r.u64(), 'BYTEARRAY8').slice()); break;
      // ---- containers
      case 0x29: push(tuple([])); break; // EMPTY_TUPLE
      case 0x74: push(tuple(popMark())); break; // TUPLE
      case 0x85: push(tuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); push(tuple([pop(), b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); push(tuple([pop(), b, c])); break; } // TUPLE3
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x6c: push(popMark()); break; // LIST
      case 0x7d: push(new Map()); break; // EMPTY_DICT
      case 0x64: { const d = new Map<PickleKey, PickleValue>(); setItems(d, popMark()); push(d); break; } // DICT
      case 0x8f: push(new Set()); break; // EMPTY_SET
      case 0x91: push(Object.freeze(new Set(popMark()))); break; // FROZENSET
      case 0x61: { const v = pop(); const l = top(); if (!isList(l)) fail(`APPEND to a ${describe(l)}`); (l as PickleValue[]).push(v); break; } // APPEND
      case 0x65: { // APPENDS
        const items = popMark();
        const l = top();
        if (!isList(l)) fail(`APPENDS to a ${describe(l)}`);
        for (const v of items) (l as PickleValue[]).push(v);
        break;
      }
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set) || Object.isFrozen(s)) fail(`ADDITEMS to a ${describe(s)}`);
        for (const v of items) (s as Set<PickleValue>).add(v);
        break;
      }
      // ---- memo
      case 0x68: push(memoGet(memo, r.u8(), fail)); break; // BINGET
      case 0x6a: push(memoGet(memo, r.u32(), fail)); break; // LONG_BINGET
      case 0x67: push(memoGet(memo, Number(int(r.line())), fail)); break; // GET
      case 0x71: memo.set(r.u8(), top()); break; // BINPUT
      case 0x72: memo.set(r.u32(), top()); break; // LONG_BINPUT
      case 0x70: memo.set(Number(int(r.line())), top()); break; // PUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      // ---- globals and objects: only through the allow-list
      case 0x63: { const module = r.line(); push(global(module, r.line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(global(module as string, name as string));
        break;
      }
      case 0x52: { const args = pop(); push(callable(pop(), args, 'call')); break; } // REDUCE
      case 0x81: { const args = pop(); push(callable(pop(), args, 'instantiate')); break; } // NEWOBJ
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        if (!isDict(kwargs) || kwargs.size > 0) fail('NEWOBJ_EX with keyword arguments');
        push(callable(pop(), args, 'instantiate'));
        break;
      }
      case 0x69: { const module = r.line(); const cls = global(module, r.line()); push(callable(cls, tuple(popMark()), 'instantiate')); break; } // INST
      case 0x6f: { const items = popMark(); if (items.length === 0) fail('OBJ without a class'); push(callable(items[0], tuple(items.slice(1)), 'instantiate')); break; } // OBJ
      case 0x62: build(pop(), top(), fail); break; // BUILD
      case 0x51: push(persistent(pop())); break; // BINPERSID
      case 0x50: push(persistent(r.line())); break; // PERSID
      case 0x82: case 0x83: case 0x84: return fail('extension-registry codes are not supported', 'PICKLE_UNSUPPORTED');
      case 0x97: case 0x98: return fail('out-of-band buffers are not supported', 'PICKLE_UNSUPPORTED');
      default: return fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`, 'PICKLE_BAD_OPCODE');
    }
  }
}

function memoGet(memo: Map<number, PickleValue>, key: number, fail: (m: string) => never): PickleValue {
  if (!memo.has(key)) fail(`memo slot ${key} is empty`);
  return memo.get(key)!;
}

/** BUILD: `obj.__setstate__(state)`; only inert objects and dicts (their attribute dict) take state. */
function build(state: PickleValue, obj: PickleValue, fail: (m: string) => never): void {
  if (obj instanceof PyObject) obj.state = state;
  else if (obj instanceof Map) attributes.set(obj, state);
  else fail(`BUILD on a ${describe(obj)}`);
}
