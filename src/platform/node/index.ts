// The Node platform: registers the node:fs FileSystem, the onnxruntime-node graph runtime, the
// Hugging Face Hub model resolver and the machine's memory and cores. Importing 'latentlab'
// (src/node.ts) imports this first.
import { setFileSystem } from '../../core/io.js';
import { setModelResolver } from '../../core/model-resolver.js';
import { setSystemResources } from '../../core/system.js';
import { setRuntime } from '../../graph/runtime.js';
import { nodeFileSystem } from './fs.js';
import { resolveModel, type ResolveModelOptions } from './hub.js';
import { nodeRuntime } from './runtime.js';
import { nodeSystemResources } from './system.js';

setFileSystem(nodeFileSystem);
setRuntime(nodeRuntime);
setSystemResources(nodeSystemResources);
setModelResolver((pathOrId, options) => resolveModel(pathOrId, options as ResolveModelOptions));

export { nodeFileSystem, nodeRuntime };
