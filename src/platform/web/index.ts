// The web platform: registers the page's FileSystem (mounted folders over fetch and File), the
// onnxruntime-web graph runtime and the browser's cores. Importing 'latentlab/web' (src/web.ts)
// imports this first. `fromPretrained` takes a mounted folder, or a Hub id (org/name), which the
// Hub client over fetch (./hub.ts) downloads into the Cache API and mounts.
import { setFileSystem } from '../../core/io.js';
import { setModelResolver } from '../../core/model-resolver.js';
import { setSystemResources } from '../../core/system.js';
import { setRuntime } from '../../graph/runtime.js';
import { webFileSystem } from './files.js';
import { resolveWebModel, type WebHubOptions } from './hub.js';
import { webRuntime } from './runtime.js';

/** WebAssembly's heap is capped at 4 GiB (32-bit addresses): what a session can hold at most. */
export const WASM_MEMORY_LIMIT = 4 * 2 ** 30;

setFileSystem(webFileSystem);
setRuntime(webRuntime);
// A mounted folder as is; a Hub id through the Hub client over fetch and the Cache API.
setModelResolver((pathOrId, options) => resolveWebModel(pathOrId, options as WebHubOptions));
setSystemResources({
  availableMemory: () => WASM_MEMORY_LIMIT,
  cores: () => (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,
});

export { webFileSystem, webRuntime };
