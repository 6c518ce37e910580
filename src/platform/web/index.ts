// The web platform: registers the page's FileSystem (mounted folders over fetch and File), the
// onnxruntime-web graph runtime and the browser's cores. Importing 'latentlab/web' (src/web.ts)
// imports this first. Model ids are not resolved (the Hub client over fetch is not written yet):
// `fromPretrained` takes a mounted folder.
import { setFileSystem } from '../../core/io.js';
import { setModelResolver } from '../../core/model-resolver.js';
import { setSystemResources } from '../../core/system.js';
import { setRuntime } from '../../graph/runtime.js';
import { webFileSystem } from './files.js';
import { webRuntime } from './runtime.js';

/** WebAssembly's heap is capped at 4 GiB (32-bit addresses): what a session can hold at most. */
export const WASM_MEMORY_LIMIT = 4 * 2 ** 30;

setFileSystem(webFileSystem);
setRuntime(webRuntime);
// A folder is a mounted folder; Hub ids are not resolved in the page yet.
setModelResolver(async (pathOrId) => pathOrId);
setSystemResources({
  availableMemory: () => WASM_MEMORY_LIMIT,
  cores: () => (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,
});

export { webFileSystem, webRuntime };
