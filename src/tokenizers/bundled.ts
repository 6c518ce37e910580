// The CLIP tokenizer that ships with latentlab (assets/clip-tokenizer/, see its README): what a
// single-file checkpoint uses, since it carries no tokenizer. One BPE for both families; only the
// padding differs — SD 1.x pads with <|endoftext|> (49407), SD 2.x's OpenCLIP tokenizer with "!" (0).

import { fileSystem } from '../core/io.js';
import { CLIPTokenizer } from './clip-tokenizer.js';

/** assets/ sits two levels above this module both in src/ (tsx, tests) and in dist/ (the package). */
function assetPath(name: string): string {
  return decodeURIComponent(new URL(`../../assets/clip-tokenizer/${name}`, import.meta.url).pathname);
}

export async function bundledClipTokenizer(family: 'sd1' | 'sd2'): Promise<CLIPTokenizer> {
  const fs = fileSystem();
  const [vocab, merges] = await Promise.all([fs.readText(assetPath('vocab.json')), fs.readText(assetPath('merges.txt'))]);
  const padToken = family === 'sd1' ? '<|endoftext|>' : '!';
  return CLIPTokenizer.fromFiles({ vocab, merges, tokenizerConfig: { model_max_length: 77, pad_token: padToken } });
}
