// Prompt → text embeddings, as diffusers' StableDiffusionPipeline.encode_prompt (0.27):
//   prompt = maybe_convert_prompt(prompt)   multi-vector embeddings: "my-style" → "my-style my-style_1"
//   ids    = tokenizer(prompt, padding="max_length", max_length=77, truncation=True)
//   embeds = text_encoder(ids).last_hidden_state                       [B, 77, H]
// The pipelines then repeat each prompt num_images_per_prompt times, consecutively  [B·n, 77, H].
// With classifier-free guidance the negative prompts are encoded the same way and the pipeline
// feeds the UNet cat([negative, positive]) — unconditional FIRST.

import { LatentlabError } from '../core/errors.js';
import { warn, type WarningHandler } from '../core/log.js';
import { Tensor } from '../core/tensor.js';
import type { CLIPTextModel } from '../models/clip-text-model.js';
import type { CLIPTokenizer } from '../tokenizers/index.js';

export interface EncodePromptOptions {
  /** diffusers' clip_skip (0 = the last layer). */
  clipSkip?: number;
  /** Where this call's warnings go (core/log.ts); default: the global handler. */
  onWarning?: WarningHandler;
}

/** Repeats each batch item n times consecutively: [a, b] → [a, a, b, b] (torch repeat + view). */
export function repeatEach(t: Tensor<'float32'>, n: number): Tensor<'float32'> {
  if (n === 1) return t;
  const per = t.size / t.shape[0];
  const out = new Tensor('float32', [t.shape[0] * n, ...t.shape.slice(1)]);
  for (let b = 0; b < t.shape[0]; b++) {
    const row = t.data.subarray(b * per, (b + 1) * per);
    for (let k = 0; k < n; k++) out.data.set(row, (b * n + k) * per);
  }
  return out;
}

/** Token ids of `prompts`, padded/truncated like the pipeline; warns about truncated text as diffusers does. */
export function tokenizePrompts(tokenizer: CLIPTokenizer, prompts: readonly string[], onWarning?: WarningHandler): Tensor<'int64'> {
  const enc = tokenizer.call([...prompts], { padding: 'max_length', maxLength: tokenizer.modelMaxLength, truncation: true });
  enc.removedText.forEach((removed) => {
    if (removed) {
      warn(`The following part of your input was truncated because CLIP can only handle sequences up to ${tokenizer.modelMaxLength} tokens: ${removed}`, onWarning);
    }
  });
  const len = enc.inputIds[0].length;
  return Tensor.int64([prompts.length, len], enc.inputIds.flat());
}

export async function encodePrompt(
  tokenizer: CLIPTokenizer,
  textEncoder: CLIPTextModel,
  prompts: readonly string[],
  options: EncodePromptOptions = {},
): Promise<Tensor<'float32'>> {
  if (prompts.length === 0) throw new LatentlabError('PIPELINE_ARGUMENT', 'prompt: got an empty list; expected at least one prompt');
  const ids = tokenizePrompts(tokenizer, tokenizer.maybeConvertPrompt(prompts), options.onWarning);
  const { lastHiddenState } = await textEncoder.forward(ids, { clipSkip: options.clipSkip });
  return lastHiddenState;
}
