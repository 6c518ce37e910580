// What torch.save puts in a pickle and how we rebuild it as references instead of tensors
// (torch/_utils.py `_rebuild_tensor_v2`, torch/serialization.py `persistent_load`):
//
//   persistent id  ('storage', torch.HalfStorage, '<key>', 'cpu', numel)   → TorchStorage (bytes in the file)
//   _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
//                  → TorchTensorRef: {file, offset, length, dtype, shape}, an ExternalTensor, no bytes read
//   _rebuild_parameter(tensor, requires_grad, hooks)   (nn.Parameter) → the same reference
//
// A tensor must be contiguous (torch.save of an ordinary tensor always is; a saved transposed view
// is not) — a reference into the file can only describe a dense row-major block.

import { DType, dtypeSize } from '../../core/dtype.js';
import { LatentlabError } from '../../core/errors.js';
import type { ExternalTensor } from '../../core/external.js';
import { inertClass, PYTHON_GLOBALS } from '../pickle/globals.js';
import type { GlobalHandler, HandlerContext, PickleValue } from '../pickle/values.js';
import { describe, isTuple, PyGlobal } from '../pickle/values.js';
import type { ByteSource } from '../byte-source.js';

/** torch.<X>Storage class → element type (the legacy typed-storage names torch still pickles). */
export const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  'torch.FloatStorage': 'float32',
  'torch.HalfStorage': 'float16',
  'torch.BFloat16Storage': 'bfloat16',
  'torch.DoubleStorage': 'float64',
  'torch.LongStorage': 'int64',
  'torch.IntStorage': 'int32',
  'torch.ByteStorage': 'uint8',
  'torch.BoolStorage': 'bool',
};

/** One storage: `numel` elements of `dtype`, at `dataOffset` in the file (set once the layout is known). */
export class TorchStorage {
  readonly kind = 'storage';
  /** Absolute byte offset of element 0 in the file; -1 until resolved. */
  dataOffset = -1;
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
    /** Legacy files: a view into another storage, `viewOffset` elements in. */
    readonly base?: TorchStorage,
    readonly viewOffset = 0,
  ) {}

  get offset(): number {
    return this.base ? this.base.offset + this.viewOffset * dtypeSize(this.dtype) : this.dataOffset;
  }
}

/** A tensor of a torch file as an in-place reference: usable directly as an ONNX external initializer. */
export class TorchTensorRef implements ExternalTensor {
  readonly kind = 'external';
  constructor(
    readonly file: string,
    readonly storage: TorchStorage,
    /** In elements, from the start of the storage. */
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly requiresGrad: boolean,
  ) {}

  get dtype(): DType {
    return this.storage.dtype;
  }

  get offset(): number {
    return this.storage.offset + this.storageOffset * dtypeSize(this.dtype);
  }

  get length(): number {
    return this.shape.reduce((a, d) => a * d, 1) * dtypeSize(this.dtype);
  }
}

export function isTorchTensor(v: unknown): v is TorchTensorRef {
  return v instanceof TorchTensorRef;
}

function ints(v: PickleValue, what: string, ctx: HandlerContext): number[] {
  if (!Array.isArray(v)) return ctx.fail(`${what} is not a tuple`);
  for (const d of v as readonly PickleValue[]) if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) ctx.fail(`${what} holds ${describe(d)}, not a size`);
  return [...(v as number[])];
}

function rebuildTensor(file: string) {
  return (args: readonly PickleValue[], ctx: HandlerContext): TorchTensorRef => {
    const [storage, offset, size, stride, requiresGrad] = args;
    if (args.length < 4 || args.length > 7) ctx.fail(`_rebuild_tensor takes 4 to 7 arguments, got ${args.length}`);
    if (!(storage instanceof TorchStorage)) return ctx.fail('_rebuild_tensor: the first argument is not a storage');
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return ctx.fail('_rebuild_tensor: bad storage offset');
    const shape = ints(size, 'the tensor size', ctx);
    const strides = ints(stride, 'the tensor stride', ctx);
    if (strides.length !== shape.length) ctx.fail(`size ${shape.length}-D but stride ${strides.length}-D`);
    let n = 1;
    for (const d of shape) n *= d;
    if (n > 0) {
      let want = 1;
      for (let i = shape.length - 1; i >= 0; i--) {
        if (shape[i] !== 1 && strides[i] !== want) ctx.fail(`a non-contiguous tensor (size [${shape}], stride [${strides}]); save it with .contiguous()`);
        want *= shape[i];
      }
      if (offset + n > storage.numel) ctx.fail(`a tensor of ${n} elements at offset ${offset} overruns its storage of ${storage.numel}`);
    }
    return new TorchTensorRef(file, storage, offset, Object.freeze(shape), requiresGrad === true);
  };
}

function tensorArg(v: PickleValue, ctx: HandlerContext): TorchTensorRef {
  return v instanceof TorchTensorRef ? v : ctx.fail('_rebuild_parameter of something that is not a tensor');
}

/** The allow-list for torch files: Python's plus torch's rebuild functions and type names. */
export function torchGlobals(file: string): Map<string, GlobalHandler> {
  const rebuild: GlobalHandler = { call: rebuildTensor(file) };
  const parameter: GlobalHandler = {
    call: (args, ctx) => {
      if (args.length < 3 || args.length > 4) ctx.fail('_rebuild_parameter takes 3 or 4 arguments');
      const t = tensorArg(args[0], ctx);
      return new TorchTensorRef(t.file, t.storage, t.storageOffset, t.shape, args[1] === true);
    },
  };
  const table = new Map<string, GlobalHandler>(PYTHON_GLOBALS);
  table.set('torch._utils._rebuild_tensor_v2', rebuild);
  table.set('torch._utils._rebuild_tensor', rebuild);
  table.set('torch._utils._rebuild_parameter', parameter);
  table.set('torch._utils._rebuild_parameter_with_state', parameter);
  // torch ≥ 1.13 wraps tensor subclasses: _rebuild_from_type_v2(func, type, args, state).
  table.set('torch._tensor._rebuild_from_type_v2', {
    call: (args, ctx) => {
      const [func, type, inner] = args;
      if (!(func instanceof PyGlobal) || !func.handler.call || !func.name.startsWith('torch._utils._rebuild_')) return ctx.fail('_rebuild_from_type_v2 of a function that is not a tensor rebuild');
      if (!(type instanceof PyGlobal) || (type.name !== 'torch.Tensor' && type.name !== 'torch.nn.parameter.Parameter')) return ctx.fail('_rebuild_from_type_v2 of an unknown tensor type');
      if (!isTuple(inner)) return ctx.fail('_rebuild_from_type_v2: the arguments are not a tuple');
      return func.handler.call(inner, ctx);
    },
  });
  for (const name of Object.keys(STORAGE_DTYPES)) table.set(name, {});
  for (const name of ['torch.Tensor', 'torch.nn.parameter.Parameter', 'torch.float16', 'torch.float32', 'torch.bfloat16', 'torch.float64', 'torch.int64', 'torch.int32', 'torch.uint8', 'torch.bool']) table.set(name, {});
  table.set('torch.Size', { call: (args, ctx) => Object.freeze(ints(args[0] ?? Object.freeze([]), 'torch.Size', ctx)) });
  // A1111 files saved with torch 1.11 keep string_to_param as an nn.ParameterDict (its `_parameters` holds the tensors).
  table.set('torch.nn.modules.container.ParameterDict', inertClass('torch.nn.modules.container.ParameterDict'));
  return table;
}

/** The pickle itself is read into memory; a larger one is not a checkpoint. */
export const MAX_PICKLE_BYTES = 1 << 30;

export function torchError(source: ByteSource, what: string, code = 'TORCH_FORMAT'): LatentlabError {
  return new LatentlabError(code, `${source.name}: ${what}`, {
    file: source.name,
    hint: code === 'TORCH_EMPTY' ? 'the download was probably interrupted; download the file again' : 'check that this is a file written by torch.save, or use a .safetensors version',
  });
}

/**
 * The persistent id of a storage, checked: ('storage', <allowed storage class>, key, location,
 * numel[, view metadata]). Returns the storage class's dtype and the fields.
 */
export function storageId(source: ByteSource, pid: PickleValue, fieldCount: number): { dtype: TorchStorage['dtype']; key: string; numel: number; rest: readonly PickleValue[] } {
  if (!isTuple(pid) || pid.length !== fieldCount || pid[0] !== 'storage') throw torchError(source, `a persistent id that is not a storage record (${describe(pid)})`);
  const [, type, key, , numel] = pid;
  if (!(type instanceof PyGlobal) || STORAGE_DTYPES[type.name] === undefined) throw torchError(source, `a storage of type ${describe(type)}, which is not read`, 'TORCH_DTYPE');
  if (typeof key !== 'string' && typeof key !== 'number') throw torchError(source, 'a storage key that is not a string');
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw torchError(source, `a storage with ${describe(numel)} elements`);
  return { dtype: STORAGE_DTYPES[type.name], key: String(key), numel, rest: pid.slice(5) };
}

