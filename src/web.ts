// latentlab in a browser (`latentlab/web`, and what `latentlab` resolves to under a bundler's
// `browser` condition): importing it registers the web platform — mounted folders read with fetch
// or from File objects, Hub ids downloaded into the Cache API, onnxruntime-web (WebAssembly, or
// WebGPU where there is one) — then re-exports the platform-neutral API (src/index.ts) and the web-only functions (docs/platforms.md).
import './platform/web/index.js';

export * from './index.js';

export { WASM_MEMORY_LIMIT } from './platform/web/index.js';
export { blobFile, LISTING_NAME, type ListingEntry, urlFile, type WebFile, WebFileSystem, webFileSystem } from './platform/web/files.js';
export { configureWebRuntime, crossOriginThreads, lastProviders, type WebExecutionProvider, webgpuAvailable, type WebRuntimeSettings } from './platform/web/runtime.js';
export { decodeImage, encodePng, type PngOptions, readPngText } from './platform/web/image.js';
export { configureHub, HUB_CACHE_NAME, resolveHubModel, type ResolvedHubModel, resolveWebModel as resolveModel, type WebHubOptions, webHubSettings } from './platform/web/hub.js';
