// Pixels, PNG metadata and pictures: pure functions on typed arrays and strings (no node:*, no
// sharp), usable in Node and in a browser. Decoding and encoding image files lives in
// src/platform/node/image.ts.
export { type A1111Parameters, formatA1111Parameters, parseA1111Parameters } from './a1111.js';
export { EXACT_PROMPTS_CHUNK, infotextChunks, readInfotextChunks } from './infotext-chunks.js';
export { colormap, type ColormapName, NAN_COLOR, normalize, type RangeOptions, type ValueRange, valueRange } from './colormap.js';
export { postprocess, preprocess, preprocessBatch, roundHalfEven } from './convert.js';
export {
  type ChannelGridOptions, imageGrid, type ImageGridOptions, type LabelledImage, labelledImageSvg, labelOverlaySvg,
  latentChannelGrid, type TextLabel,
} from './grid.js';
export { heatmapSvg, type HeatmapOptions } from './heatmap.js';
export { type LinePlotOptions, linePlotSvg, type LineSeries } from './plot.js';
export {
  concatBytes, crc32, insertPngText, isLatin1, listPngChunks, type PngChunk, pngText, type PngTextChunk, readPngTextChunks, type ReadTextOptions,
} from './png-text.js';
export { blit, checkRgbImage, createRgbImage, pixelAt, type Rgb, type RgbImage, upscaleNearest } from './rgb-image.js';
export { escapeXml } from './svg.js';
export { blurMask, downsampleMask, type GrayImage, invertMask, isGrayImage, maskCondition, overlayOriginal, toGrayscale } from './mask.js';
