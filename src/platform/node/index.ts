// The Node platform: registers the node:fs FileSystem and the onnxruntime-node graph runtime.
// Importing 'latentlab' (src/index.ts) imports this first.
import { setFileSystem } from '../../core/io.js';
import { setRuntime } from '../../graph/runtime.js';
import { nodeFileSystem } from './fs.js';
import { nodeRuntime } from './runtime.js';

setFileSystem(nodeFileSystem);
setRuntime(nodeRuntime);

export { nodeFileSystem, nodeRuntime };
