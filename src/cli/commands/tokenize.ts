// latentlab tokenize: what CLIP sees of a prompt — the BPE tokens and the 77 input ids the pipeline
// feeds the text encoder (bos, the tokens, eos, then padding), with diffusers' warning when the
// prompt is longer than 75 tokens and its end is dropped. With --embedding / --embeddings-dir the
// embeddings' tokens are added first, so the ids show them (and multi-vector names expanded).

import { type Command, Option } from 'commander';

import { CLIPTextModel, CLIPTokenizer, tokenizePrompts } from '../../index.js';
import { action, newCommand } from '../command.js';
import { addEmbeddingOptions, type EmbeddingFlags, loadEmbeddings, planEmbeddings } from '../embeddings.js';
import { stringifyJson } from '../metadata.js';
import { addModelOptions, type ModelFlags, requirePipelineFolder, resolveFolder } from '../model.js';
import { collectText } from '../values.js';

interface TokenizeFlags extends ModelFlags, EmbeddingFlags {
  prompt: string[];
  json?: boolean;
}

export function tokenizeCommand(): Command {
  const cmd = newCommand('tokenize', 'show the CLIP tokens and the 77 input ids of a prompt');
  cmd.addOption(new Option('--prompt <text>', 'the prompt; repeat for several').argParser(collectText('--prompt', true)).makeOptionMandatory());
  addModelOptions(cmd, { required: true, runs: false });
  addEmbeddingOptions(cmd);
  cmd.option('--json', 'print one JSON object on stdout and nothing else');
  cmd.addHelpText('after', '\nExample:\n  latentlab tokenize --model test/fixtures/conformance/pipelines/tiny-sd15 --prompt "a photo of a cat"');
  return cmd.action(action<TokenizeFlags>(async (flags, session) => {
    const planned = await planEmbeddings(flags);
    const folder = await resolveFolder(flags, session);
    await requirePipelineFolder(folder);
    const tokenizer = await CLIPTokenizer.fromPretrained(folder, { subfolder: 'tokenizer' });
    // The text encoder is opened only to check the embeddings' width (no session is created).
    const embeddings = planned.length > 0 ? await loadEmbeddings(tokenizer, await CLIPTextModel.fromPretrained(folder), planned) : [];
    const results = flags.prompt.map((typed) => {
      const prompt = tokenizer.maybeConvertPrompt(typed);
      const tokens = tokenizer.tokenize(prompt);
      const enc = tokenizer.call([prompt], { padding: 'max_length', maxLength: tokenizer.modelMaxLength, truncation: true });
      tokenizePrompts(tokenizer, [prompt]); // the pipeline's own truncation warning, word for word
      const inputIds = enc.inputIds[0];
      return {
        prompt: typed, ...(prompt !== typed ? { convertedPrompt: prompt } : {}), tokens, inputIds, inputTokens: tokenizer.convertIdsToTokens(inputIds), attentionMask: enc.attentionMask[0],
        truncated: enc.removedText[0] === '' ? null : enc.removedText[0],
      };
    });
    for (const r of results) {
      const used = Math.min(r.tokens.length, tokenizer.modelMaxLength - 2);
      session.print(`prompt: ${JSON.stringify(r.prompt)}`);
      if (r.convertedPrompt !== undefined) session.print(`as the pipeline sees it (multi-vector embeddings expanded): ${JSON.stringify(r.convertedPrompt)}`);
      session.print(`${r.tokens.length} token${r.tokens.length === 1 ? '' : 's'}${r.truncated ? ` (only the first ${used} fit; the rest is dropped)` : ''}, `
        + `${r.inputIds.length} input ids: bos, ${used} tokens, eos, ${r.inputIds.length - used - 2} padding`);
      session.print('  pos     id  token');
      for (let i = 0; i < used + 2; i++) session.print(`  ${String(i).padStart(3)}  ${String(r.inputIds[i]).padStart(5)}  ${r.inputTokens[i]}`);
      if (r.inputIds.length > used + 2) {
        session.print(`  ${`${used + 2}…${r.inputIds.length - 1}`.padStart(3)}  ${String(r.inputIds[used + 2]).padStart(5)}  ${r.inputTokens[used + 2]} (padding)`);
      }
      session.print(`input_ids: [${r.inputIds.join(', ')}]`);
      session.print();
    }
    for (const e of embeddings) session.note(`embedding ${JSON.stringify(e.token)} (${e.file}): ids ${e.ids.join(', ')}`);
    session.report({ command: 'tokenize', model: flags.model, folder, modelMaxLength: tokenizer.modelMaxLength, prompts: results, ...(embeddings.length > 0 ? { embeddings } : {}) }, (v) => stringifyJson(v, { indent: 2 }));
  }));
}
