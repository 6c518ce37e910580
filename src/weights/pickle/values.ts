// What the pickle interpreter builds: plain data, never live Python objects.
//
//   Python            here
//   None, bool        null, boolean
//   int               number (bigint beyond ±2^53)
//   float, str        number, string
//   bytes, bytearray  Uint8Array
//   list / tuple      array / frozen array (Object.isFrozen tells them apart)
//   dict, OrderedDict Map (keys of any kind; a Map also cannot be polluted through "__proto__")
//   set, frozenset    Set
//   a global          PyGlobal: the allow-listed name, resolved to a handler that builds data
//   an instance       PyObject: class name, constructor arguments and state, inert
//
// Loaders (torch) add their own kinds (storages, tensors), all objects with a `kind`.

export type PickleKey = string | number | bigint | boolean | null | object;

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | readonly PickleValue[]
  | Map<PickleKey, PickleValue>
  | Set<PickleValue>
  | { readonly kind: string };

/** What an allow-listed global may do. Each handler only builds data from data. */
export interface GlobalHandler {
  /** REDUCE: `f(*args)`. */
  call?: (args: readonly PickleValue[], ctx: HandlerContext) => PickleValue;
  /** NEWOBJ / INST / OBJ: `cls.__new__(cls, *args)` (classes only). */
  instantiate?: (args: readonly PickleValue[], ctx: HandlerContext) => PickleValue;
}

export interface HandlerContext {
  /** For error messages: the file being read. */
  readonly file: string;
  /** Raises a PICKLE_MALFORMED error naming the file and the global. */
  fail(message: string): never;
}

/** A global (module.name) from the allow-list; only these ever appear in the data. */
export class PyGlobal {
  readonly kind = 'global';
  constructor(
    /** Normalised Python 3 name, e.g. "collections.OrderedDict". */
    readonly name: string,
    readonly handler: GlobalHandler,
  ) {}
}

/** An instance of an allow-listed class that is only data (e.g. Lightning's ModelCheckpoint state). */
export class PyObject {
  readonly kind = 'object';
  /** Set by BUILD (`__setstate__` / `__dict__.update`). */
  state: PickleValue = null;
  constructor(
    readonly className: string,
    readonly args: readonly PickleValue[],
  ) {}
}

export function isTuple(v: unknown): v is readonly PickleValue[] {
  return Array.isArray(v) && Object.isFrozen(v);
}

export function isList(v: unknown): v is PickleValue[] {
  return Array.isArray(v) && !Object.isFrozen(v);
}

export function isDict(v: unknown): v is Map<PickleKey, PickleValue> {
  return v instanceof Map;
}

/**
 * A short description of a value for error messages. Deliberately shallow: pickled data may be
 * nested a million levels deep or share sub-structures exponentially, so nothing here recurses.
 */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'string') return v.length > 60 ? `str ${JSON.stringify(v.slice(0, 57))}...` : `str ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v === 'boolean' ? 'bool' : typeof v === 'bigint' || Number.isInteger(v) ? 'int' : 'float'} ${String(v)}`;
  if (v instanceof Uint8Array) return `bytes (${v.byteLength})`;
  if (Array.isArray(v)) return `${Object.isFrozen(v) ? 'tuple' : 'list'} of ${v.length}`;
  if (v instanceof Map) return `dict of ${v.size}`;
  if (v instanceof Set) return `set of ${v.size}`;
  if (v instanceof PyGlobal) return `global ${v.name}`;
  if (v instanceof PyObject) return `${v.className} object`;
  if (typeof v === 'object' && 'kind' in v) return String((v as { kind: unknown }).kind);
  return typeof v;
}
