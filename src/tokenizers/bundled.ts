// The CLIP tokenizer that ships with latentlab (assets/clip-tokenizer/, see its README): what a
// single-file checkpoint uses, since it carries no tokenizer. One BPE for both families; only the
// padding differs — SD 1.x pads with <|endoftext|> (49407), SD 2.x's OpenCLIP tokenizer with "!" (0).

import { fileSystem } from '../core/io.js';
import { CLIPTokenizer } from './clip-tokenizer.js';

/** assets/ sits two levels above this module both in src/ (tsx, tests) and in dist/ (the package). */
function assetPath(name: string): string {
  return decodeURIComponent(new URL(`../../assets/clip-tokenizer/${name}`, import.meta.url).pathname);
}

const padToken = (family: 'sd1' | 'sd2') => (family === 'sd1' ? '<|endoftext|>' : '!');

export async function bundledClipTokenizer(family: 'sd1' | 'sd2'): Promise<CLIPTokenizer> {
  const fs = fileSystem();
  const [vocab, merges] = await Promise.all([fs.readText(assetPath('vocab.json')), fs.readText(assetPath('merges.txt'))]);
  return CLIPTokenizer.fromFiles({ vocab, merges, tokenizerConfig: { model_max_length: 77, pad_token: padToken(family) } });
}

/** The files of a diffusers `tokenizer/` folder holding the bundled tokenizer (what a saved pipeline needs). */
export async function bundledTokenizerFiles(family: 'sd1' | 'sd2'): Promise<Record<string, string>> {
  const fs = fileSystem();
  const special = (content: string) => ({ content, lstrip: false, normalized: true, rstrip: false, single_word: false });
  const map = { bos_token: special('<|startoftext|>'), eos_token: special('<|endoftext|>'), pad_token: padToken(family), unk_token: special('<|endoftext|>') };
  const config = {
    add_prefix_space: false, bos_token: map.bos_token, clean_up_tokenization_spaces: true, do_lower_case: true, eos_token: map.eos_token, errors: 'replace',
    model_max_length: 77, pad_token: padToken(family), tokenizer_class: 'CLIPTokenizer', unk_token: map.unk_token,
  };
  const text = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  return {
    'vocab.json': await fs.readText(assetPath('vocab.json')),
    'merges.txt': await fs.readText(assetPath('merges.txt')),
    'tokenizer_config.json': text(config),
    'special_tokens_map.json': text(map),
  };
}
