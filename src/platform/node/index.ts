// The Node platform: registers the node:fs FileSystem (and, via ./runtime, ONNX Runtime).
import { setFileSystem } from '../../core/io.js';
import { nodeFileSystem } from './fs.js';

setFileSystem(nodeFileSystem);

export { nodeFileSystem };
