// A small builder of ONNX NodeProtos / TensorProtos as plain objects, used by the lowering.
// It hands out unique value names, writes inline constants and external-data initializers, and
// turns JS attribute values into AttributeProtos.

import { DType, f32ToBf16, f32ToF16 } from '../core/dtype.js';
import { LatentlabError } from '../core/errors.js';
import type { ExternalTensor } from '../core/external.js';
import { Tensor } from '../core/tensor.js';
import type { Dim } from '../graph/dims.js';
import { ATTR_TYPE, ONNX_DTYPE } from './schema.js';

export type AttrValue = number | string | readonly number[] | { float: number } | { floats: readonly number[] };

export interface NodeProtoLike {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  domain?: string;
  attribute: object[];
}

export function onnxDtype(dtype: DType): number {
  return ONNX_DTYPE[dtype];
}

function attribute(name: string, v: AttrValue): object {
  if (typeof v === 'string') return { name, type: ATTR_TYPE.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new LatentlabError('ONNX_ATTR', `attribute ${name}=${v}: use {float: x} for float attributes`);
    return { name, type: ATTR_TYPE.INT, i: v };
  }
  if ('float' in v) return { name, type: ATTR_TYPE.FLOAT, f: v.float };
  if ('floats' in v) return { name, type: ATTR_TYPE.FLOATS, floats: [...v.floats] };
  return { name, type: ATTR_TYPE.INTS, ints: [...(v as readonly number[])] };
}

export class Emitter {
  readonly nodes: NodeProtoLike[] = [];
  readonly initializers: object[] = [];
  private counter = 0;
  /** Scope prefix for node names, so profiles read "down_blocks.0.resnets.1/Conv_12". */
  scope = '';

  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  /** Appends a node and returns its output names. */
  node(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue | undefined> = {}, outputs = 1, domain = ''): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    const attributes = Object.entries(attrs)
      .filter((e): e is [string, AttrValue] => e[1] !== undefined)
      .map(([k, v]) => attribute(k, v));
    this.nodes.push({ input: [...inputs], output: outs, name: `${this.scope}/${opType}_${this.counter++}`, op_type: opType, domain, attribute: attributes });
    return outs;
  }

  /** Single-output convenience. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue | undefined> = {}, domain = ''): string {
    return this.node(opType, inputs, attrs, 1, domain)[0];
  }

  /** An inline initializer holding `t`. */
  constant(t: Tensor, hint = 'const'): string {
    const name = this.fresh(hint);
    this.initializers.push(inlineTensor(name, t));
    return name;
  }

  ints(values: readonly number[]): string {
    return this.constant(Tensor.int64([values.length], values), 'ints');
  }

  float(value: number): string {
    return this.constant(Tensor.float32([], [value]), 'scalar');
  }

  /**
   * A constant of `dtype` filled with `value`, for operands that must share the other input's type
   * (ONNX never promotes: a float32 scale next to a float16 tensor is an invalid model).
   */
  full(dtype: DType, shape: readonly number[], value: number): string {
    const t = new Tensor(dtype, shape);
    if (dtype === 'int64') (t.data as BigInt64Array).fill(BigInt(value));
    else if (dtype === 'float16') (t.data as Uint16Array).fill(f32ToF16(value));
    else if (dtype === 'bfloat16') (t.data as Uint16Array).fill(f32ToBf16(value));
    else (t.data as Float32Array).fill(value); // float32/float64/int32/uint8/bool arrays all take a number
    return this.constant(t, 'full');
  }

  scalar(dtype: DType, value: number): string {
    return this.full(dtype, [], value);
  }

  external(name: string, ref: ExternalTensor, location: string): void {
    this.initializers.push({
      name,
      dims: [...ref.shape],
      data_type: onnxDtype(ref.dtype),
      data_location: 1, // EXTERNAL
      external_data: [
        { key: 'location', value: location },
        { key: 'offset', value: String(ref.offset) },
        { key: 'length', value: String(ref.length) },
      ],
    });
  }

  inline(name: string, t: Tensor): void {
    this.initializers.push(inlineTensor(name, t));
  }
}

function inlineTensor(name: string, t: Tensor): object {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: [...t.shape], data_type: onnxDtype(t.dtype), raw_data: bytes };
}

/** ValueInfoProto for a graph input/output; symbolic dims become dim_param. */
export function valueInfo(name: string, dtype: DType, shape: readonly Dim[]): object {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: onnxDtype(dtype),
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}
