// The computation graph that latentlab's networks are written in.
//
// A Graph is a list of nodes in the order they were built (which is a topological order), over
// Values with a dtype and a (possibly symbolic) shape. Leaves are graph inputs, weights (named by
// their checkpoint key — one name per weight everywhere) and inline constants. Ops are plain
// functions (src/graph/ops) that infer the output shape when they are called, so a mistake fails
// at build time with the op, the shapes and the module path being built, long before ONNX Runtime
// sees the model. src/onnx lowers a Graph to ONNX; nothing here knows about ONNX.

import type { DType } from '../core/dtype.js';
import { fmtShape, LatentlabError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import type { Shape } from './dims.js';
import type { OpAttrs, OpName } from './op-types.js';

export type ValueKind = 'input' | 'weight' | 'constant' | 'node';

export class Value {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly kind: ValueKind,
    readonly dtype: DType,
    readonly shape: Shape,
    /** Input name or weight key (checkpoint name); undefined for intermediates. */
    readonly name?: string,
    readonly producer?: Node,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name ?? `%${this.id}`}: ${this.dtype}${fmtShape(this.shape)}`;
  }
}

export interface NodeOf<K extends OpName> {
  readonly id: number;
  /** latentlab op name (see op-types.ts), not an ONNX op type. */
  readonly op: K;
  readonly inputs: readonly Value[];
  readonly outputs: Value[];
  readonly attrs: OpAttrs[K];
  /** Module path that was being built ("down_blocks.0.resnets.1"), for errors and profiles. */
  readonly scope: string;
}

/** Any node: a union discriminated by `op`, so `switch (node.op)` narrows `attrs`. */
export type Node = { [K in OpName]: NodeOf<K> }[OpName];

export interface WeightDecl {
  readonly key: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** The config field that implies this weight's shape, for loading errors. */
  readonly origin?: string;
  readonly value: Value;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: { name: string; value: Value }[] = [];
  readonly weights = new Map<string, WeightDecl>();
  readonly constants = new Map<Value, Tensor>();
  private nextId = 0;
  private scopes: string[] = [];

  constructor(readonly name = 'graph') {}

  /** The module path being built. */
  get scope(): string {
    return this.scopes[this.scopes.length - 1] ?? '';
  }

  /** Runs `fn` with `path` as the current module path (errors and node names carry it). */
  scoped<T>(path: string, fn: () => T): T {
    this.scopes.push(path);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  input(name: string, dtype: DType, shape: Shape): Value {
    if (this.inputs.some((v) => v.name === name)) throw new LatentlabError('GRAPH_DUPLICATE', `graph ${this.name}: input "${name}" is declared twice`);
    const v = new Value(this, this.nextId++, 'input', dtype, [...shape], name);
    this.inputs.push(v);
    return v;
  }

  /** The checkpoint tensor `key`. Declaring the same key twice returns the same value. */
  weight(key: string, shape: readonly number[], options: { dtype?: DType; origin?: string } = {}): Value {
    const dtype = options.dtype ?? 'float32';
    const existing = this.weights.get(key);
    if (existing) {
      if (fmtShape(existing.shape) !== fmtShape(shape)) {
        throw new LatentlabError('GRAPH_WEIGHT', `weight "${key}" is declared with shape ${fmtShape(shape)} and ${fmtShape(existing.shape)}`, { key });
      }
      return existing.value;
    }
    const value = new Value(this, this.nextId++, 'weight', dtype, [...shape], key);
    this.weights.set(key, { key, shape: [...shape], dtype, origin: options.origin, value });
    return value;
  }

  /** An inline constant (small tensors: frequencies, masks, scalars). */
  constant(tensor: Tensor): Value {
    const v = new Value(this, this.nextId++, 'constant', tensor.dtype, tensor.shape);
    this.constants.set(v, tensor);
    return v;
  }

  output(name: string, value: Value): void {
    if (value.graph !== this) throw new LatentlabError('GRAPH_FOREIGN', `output "${name}" belongs to another graph`);
    if (this.outputs.some((o) => o.name === name)) throw new LatentlabError('GRAPH_DUPLICATE', `graph ${this.name}: output "${name}" is declared twice`);
    this.outputs.push({ name, value });
  }

  /** Appends a node; `outs` are the already-inferred output types. Used by ops/, not by models. */
  addNode<K extends OpName>(op: K, inputs: readonly Value[], attrs: OpAttrs[K], outs: readonly { dtype: DType; shape: Shape }[]): Value[] {
    for (const v of inputs) {
      if (v.graph !== this) throw new LatentlabError('GRAPH_FOREIGN', `${op} at "${this.scope}": input ${v} belongs to another graph`);
    }
    const outputs: Value[] = [];
    const node = { id: this.nodes.length, op, inputs, outputs, attrs, scope: this.scope } as NodeOf<K> as Node;
    for (const o of outs) outputs.push(new Value(this, this.nextId++, 'node', o.dtype, [...o.shape], undefined, node));
    this.nodes.push(node);
    return outputs;
  }
}

/**
 * A position in the checkpoint's module tree, like a torch `nn.Module`: `m.child('to_q').weight('weight', ...)`
 * declares `<path>.to_q.weight`. Builders take a Module so weight names come from one place.
 */
export class Module {
  constructor(
    readonly graph: Graph,
    readonly path = '',
  ) {}

  child(name: string | number): Module {
    return new Module(this.graph, this.path ? `${this.path}.${name}` : String(name));
  }

  key(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  weight(name: string, shape: readonly number[], origin?: string): Value {
    return this.graph.weight(this.key(name), shape, { origin });
  }

  /** Builds `fn` with this module's path as the graph's current scope. */
  build<T>(fn: () => T): T {
    return this.graph.scoped(this.path, fn);
  }
}
