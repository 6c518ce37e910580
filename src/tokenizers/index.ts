// The tokenizers area: CLIP's byte-level BPE tokenizer, as Stable Diffusion pipelines use it.
export { CLIPTokenizer } from './clip-tokenizer.js';
export type { CLIPTokenizerOptions, FromPretrainedOptions as TokenizerFromPretrainedOptions } from './clip-tokenizer.js';
export type { BatchEncoding, CallOptions, DecodeOptions } from './encoding.js';
export type { TokenizerFiles } from './tokenizer-files.js';
export { fixText, whitespaceClean } from './ftfy.js';
export { bundledClipTokenizer } from './bundled.js';
