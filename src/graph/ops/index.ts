// Every op a network can be built from. Each infers its output shape when called and throws a
// GRAPH_SHAPE error naming the op, the module path and the input shapes when they do not fit.
export * from './elementwise.js';
export * from './linalg.js';
export * from './norm.js';
export * from './shape.js';
export type { Operand } from './common.js';
