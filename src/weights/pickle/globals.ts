// The allow-list: the only Python globals a pickle may name, each mapped to a handler that builds
// plain data. A name that is not here (`os.system`, `builtins.eval`, `subprocess.Popen`, any
// class we do not know) stops the read at its GLOBAL opcode. The Python-level entries are the ones
// state dicts and A1111 embeddings use (the list A1111's modules/safe.py also accepts); torch's own
// rebuild functions and storage types are added by the torch reader (../torch/globals.ts).

import type { GlobalHandler, PickleKey, PickleValue } from './values.js';
import { describe, PyGlobal, PyObject } from './values.js';

export type GlobalTable = ReadonlyMap<string, GlobalHandler>;

/** Python 2 module names that pickles written by Python 2 (or protocol ≤ 2) use. */
const PY2_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

export function lookupGlobal(table: GlobalTable, module: string, name: string): PyGlobal | undefined {
  const full = `${Object.hasOwn(PY2_MODULES, module) ? PY2_MODULES[module] : module}.${name}`;
  const handler = table.get(full);
  return handler ? new PyGlobal(full, handler) : undefined;
}

/** A class whose instances are only data: `ClassName(*args)` and BUILD state are kept, nothing runs. */
export function inertClass(name: string): GlobalHandler {
  const make = (args: readonly PickleValue[]) => new PyObject(name, args);
  return { call: make, instantiate: make };
}

/** collections.OrderedDict(), OrderedDict([(k, v), ...]): a Map (insertion order is Map order). */
const orderedDict: GlobalHandler = {
  call: (args, ctx) => {
    const m = new Map<PickleKey, PickleValue>();
    if (args.length === 0) return m;
    const pairs = args[0];
    if (args.length > 1 || !Array.isArray(pairs)) ctx.fail('OrderedDict takes one list of pairs');
    for (const p of pairs as readonly PickleValue[]) {
      if (!Array.isArray(p) || p.length !== 2) ctx.fail('OrderedDict: an item is not a (key, value) pair');
      m.set((p as PickleValue[])[0] as PickleKey, (p as PickleValue[])[1]);
    }
    return m;
  },
};
orderedDict.instantiate = orderedDict.call;

const set = (frozen: boolean): GlobalHandler => ({
  call: (args, ctx) => {
    if (args.length > 1 || (args.length === 1 && !Array.isArray(args[0]))) ctx.fail('set() takes one list');
    const s = new Set<PickleValue>(args.length ? (args[0] as readonly PickleValue[]) : []);
    return frozen ? Object.freeze(s) : s;
  },
});

/** _codecs.encode(text, 'latin1'): how protocol-2 pickles written by Python 3 carry bytes. */
const codecsEncode: GlobalHandler = {
  call: (args, ctx) => {
    const [text, encoding] = args;
    if (typeof text !== 'string') return ctx.fail('_codecs.encode needs a str');
    if (encoding !== 'latin1' && encoding !== 'latin-1') return ctx.fail(`_codecs.encode with encoding ${describe(encoding)} (only latin1 is read)`);
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 0xff) ctx.fail('_codecs.encode: a character outside latin1');
      out[i] = c;
    }
    return out;
  },
};

/** copyreg._reconstructor(cls, object, state): protocol 0/1's way of creating an instance. */
const reconstructor: GlobalHandler = {
  call: (args, ctx) => {
    const [cls, base] = args;
    if (!(cls instanceof PyGlobal) || !cls.handler.instantiate) return ctx.fail('_reconstructor of a class that is not allowed');
    if (!(base instanceof PyGlobal) || base.name !== 'builtins.object') return ctx.fail('_reconstructor with a base other than object');
    return cls.handler.instantiate([], ctx);
  },
};

export const PYTHON_GLOBALS: ReadonlyMap<string, GlobalHandler> = new Map<string, GlobalHandler>([
  ['collections.OrderedDict', orderedDict],
  ['builtins.set', set(false)],
  ['builtins.frozenset', set(true)],
  ['builtins.object', {}],
  ['_codecs.encode', codecsEncode],
  ['copyreg._reconstructor', reconstructor],
  // Lightning checkpoints (the original SD .ckpt files) keep their callbacks' state.
  ['pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint', inertClass('pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint')],
]);
