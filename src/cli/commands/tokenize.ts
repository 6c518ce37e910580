// latentlab tokenize: what CLIP sees of a prompt.
//
// In A1111's syntax (the default): the prompt's schedule for --steps N (prompt editing and
// alternation), the emphasis of its first scheduled text as A1111's attention parser gives it, and
// the 77-token chunks with each token's weight — A1111's own shapes, so they can be compared.
// In plain syntax: the BPE tokens and the 77 input ids diffusers feeds the text encoder (bos, the
// tokens, eos, padding), with diffusers' warning when the prompt is cut at 77 tokens.
// With --embedding / --embeddings-dir the embeddings' tokens are added first, so the ids show them
// (and multi-vector names expanded).

import { type Command, Option } from 'commander';

import { CLIPTextModel, CLIPTokenizer, getPromptSchedule, parsePromptAttention, tokenizePrompts, tokenizePromptChunks } from '../../node.js';
import { action, newCommand } from '../command.js';
import { addEmbeddingOptions, type EmbeddingFlags, loadEmbeddings, planEmbeddings } from '../embeddings.js';
import { addPromptSyntaxOption, DEFAULT_PROMPT_SYNTAX } from '../generation-flags.js';
import { stringifyJson } from '../metadata.js';
import { addModelOptions, type ModelFlags, requirePipelineFolder, resolveFolder } from '../model.js';
import type { Session } from '../session.js';
import { collectText, integerFlag } from '../values.js';

interface TokenizeFlags extends ModelFlags, EmbeddingFlags {
  prompt: string[];
  promptSyntax?: 'a1111' | 'comfy' | 'plain';
  steps?: number;
  json?: boolean;
}

const DEFAULT_SCHEDULE_STEPS = 20;

/** diffusers' view: the BPE tokens and the 77 ids after truncation. */
function plainReport(tokenizer: CLIPTokenizer, typed: string) {
  const prompt = tokenizer.maybeConvertPrompt(typed);
  const tokens = tokenizer.tokenize(prompt);
  const enc = tokenizer.call([prompt], { padding: 'max_length', maxLength: tokenizer.modelMaxLength, truncation: true });
  tokenizePrompts(tokenizer, [prompt]); // the pipeline's own truncation warning, word for word
  const inputIds = enc.inputIds[0];
  return {
    prompt: typed, ...(prompt !== typed ? { convertedPrompt: prompt } : {}), promptSyntax: 'plain' as const, tokens, inputIds, inputTokens: tokenizer.convertIdsToTokens(inputIds), attentionMask: enc.attentionMask[0],
    truncated: enc.removedText[0] === '' ? null : enc.removedText[0],
  };
}

/** A1111's view: schedule, attention and chunks of the first scheduled text. */
function a1111Report(tokenizer: CLIPTokenizer, prompt: string, syntax: 'a1111' | 'comfy', steps: number) {
  const schedule = getPromptSchedule(prompt, steps);
  const first = schedule[0][1];
  const { chunks, tokenCount } = tokenizePromptChunks(tokenizer, first);
  const inputIds = chunks.flatMap((c) => c.tokens);
  const converted = tokenizer.maybeConvertPrompt(prompt); // the chunker expands multi-vector tokens piece by piece; shown whole
  return {
    prompt, ...(converted !== prompt ? { convertedPrompt: converted } : {}), promptSyntax: syntax, steps, schedule, attention: parsePromptAttention(first), tokenCount,
    chunks: chunks.map((c) => c.tokens), multipliers: chunks.map((c) => c.multipliers),
    tokens: parsePromptAttention(first).flatMap(([text, w]) => (text === 'BREAK' && w === -1 ? [] : tokenizer.tokenize(text))),
    inputIds, inputTokens: tokenizer.convertIdsToTokens(inputIds), truncated: null,
  };
}

function printPlain(session: Session, r: ReturnType<typeof plainReport>, maxLength: number): void {
  if (r.convertedPrompt !== undefined) session.print(`as the pipeline sees it (multi-vector embeddings expanded): ${JSON.stringify(r.convertedPrompt)}`);
  const used = Math.min(r.tokens.length, maxLength - 2);
  session.print(`${r.tokens.length} token${r.tokens.length === 1 ? '' : 's'}${r.truncated ? ` (only the first ${used} fit; the rest is dropped)` : ''}, `
    + `${r.inputIds.length} input ids: bos, ${used} tokens, eos, ${r.inputIds.length - used - 2} padding`);
  session.print('  pos     id  token');
  for (let i = 0; i < used + 2; i++) session.print(`  ${String(i).padStart(3)}  ${String(r.inputIds[i]).padStart(5)}  ${r.inputTokens[i]}`);
  if (r.inputIds.length > used + 2) {
    session.print(`  ${`${used + 2}…${r.inputIds.length - 1}`.padStart(3)}  ${String(r.inputIds[used + 2]).padStart(5)}  ${r.inputTokens[used + 2]} (padding)`);
  }
  session.print(`input_ids: [${r.inputIds.join(', ')}]`);
}

function printA1111(session: Session, r: ReturnType<typeof a1111Report>, eos: number): void {
  if (r.convertedPrompt !== undefined) session.print(`as the pipeline sees it (multi-vector embeddings expanded): ${JSON.stringify(r.convertedPrompt)}`);
  if (r.schedule.length > 1) {
    session.print(`schedule for ${r.steps} steps:`);
    for (const [end, text] of r.schedule) session.print(`  until step ${String(end).padStart(3)}: ${JSON.stringify(text)}`);
  }
  session.print(`attention: ${JSON.stringify(r.attention)}`);
  session.print(`${r.tokenCount} token${r.tokenCount === 1 ? '' : 's'} (A1111's count), ${r.chunks.length} chunk${r.chunks.length === 1 ? '' : 's'} of 77 ids`);
  r.chunks.forEach((ids, c) => {
    const end = ids.indexOf(eos, 1);
    session.print(`chunk ${c}:  pos     id  weight  token`);
    for (let i = 0; i <= end; i++) {
      session.print(`          ${String(i).padStart(3)}  ${String(ids[i]).padStart(5)}  ${r.multipliers[c][i].toFixed(3).padStart(6)}  ${r.inputTokens[c * 77 + i]}`);
    }
    if (end < 76) session.print(`          ${`${end + 1}…76`.padStart(3)}  ${String(ids[end + 1]).padStart(5)}  ${'1.000'.padStart(6)}  ${r.inputTokens[c * 77 + end + 1]} (padding)`);
  });
}

export function tokenizeCommand(): Command {
  const cmd = newCommand('tokenize', 'show how a prompt is read: its schedule, weights and 77-token chunks (or, plain, diffusers\' 77 input ids)');
  cmd.addOption(new Option('--prompt <text>', 'the prompt; repeat for several').argParser(collectText('--prompt', true)).makeOptionMandatory());
  addPromptSyntaxOption(cmd);
  cmd.addOption(new Option('--steps <n>', `the number of sampling steps the prompt schedule is for (default: ${DEFAULT_SCHEDULE_STEPS})`).argParser(integerFlag('--steps', 1)));
  addModelOptions(cmd, { required: true, runs: false });
  addEmbeddingOptions(cmd);
  cmd.option('--json', 'print one JSON object on stdout and nothing else');
  cmd.addHelpText('after', '\nExample:\n  latentlab tokenize --model test/fixtures/conformance/pipelines/tiny-sd15 --prompt "a photo of a (cat:1.2)"');
  return cmd.action(action<TokenizeFlags>(async (flags, session) => {
    const planned = await planEmbeddings(flags);
    const folder = await resolveFolder(flags, session);
    await requirePipelineFolder(folder);
    const tokenizer = await CLIPTokenizer.fromPretrained(folder, { subfolder: 'tokenizer' });
    // The text encoder is opened only to check the embeddings' width (no session is created).
    const embeddings = planned.length > 0 ? await loadEmbeddings(tokenizer, await CLIPTextModel.fromPretrained(folder), planned) : [];
    const syntax = flags.promptSyntax ?? DEFAULT_PROMPT_SYNTAX;
    const steps = flags.steps ?? DEFAULT_SCHEDULE_STEPS;
    const results = flags.prompt.map((prompt) => (syntax === 'plain' ? plainReport(tokenizer, prompt) : a1111Report(tokenizer, prompt, syntax, steps)));
    for (const r of results) {
      session.print(`prompt: ${JSON.stringify(r.prompt)}`);
      if (r.promptSyntax === 'plain') printPlain(session, r, tokenizer.modelMaxLength);
      else printA1111(session, r, tokenizer.eosTokenId);
      session.print();
    }
    for (const e of embeddings) session.note(`embedding ${JSON.stringify(e.token)} (${e.file}): ids ${e.ids.join(', ')}`);
    const report = { command: 'tokenize', model: flags.model, folder, modelMaxLength: tokenizer.modelMaxLength, promptSyntax: syntax, prompts: results };
    session.report({ ...report, ...(embeddings.length > 0 ? { embeddings } : {}) }, (v) => stringifyJson(v, { indent: 2 }));
  }));
}
