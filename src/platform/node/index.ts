// The Node platform: registers the node:fs FileSystem, the onnxruntime-node graph runtime and
// the Hugging Face Hub model resolver. Importing 'latentlab' (src/index.ts) imports this first.
import { setFileSystem } from '../../core/io.js';
import { setModelResolver } from '../../core/model-resolver.js';
import { setRuntime } from '../../graph/runtime.js';
import { nodeFileSystem } from './fs.js';
import { resolveModel, type ResolveModelOptions } from './hub.js';
import { nodeRuntime } from './runtime.js';

setFileSystem(nodeFileSystem);
setRuntime(nodeRuntime);
setModelResolver((pathOrId, options) => resolveModel(pathOrId, options as ResolveModelOptions));

export { nodeFileSystem, nodeRuntime };
