// loadTextualInversion against diffusers' load_textual_inversion on tiny-sd15
// (reference/tiny-sd15/textual_inversion, README section 11): the three scenarios' token ids,
// the rows added to the token table, and the text encoder's last_hidden_state (tolerance 2e-5,
// README section 13); then the errors diffusers raises, and the pipeline path.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { buildCLIPTextGraph } from '../../src/models/clip-text-graph.js';
import { CLIPTextModel } from '../../src/models/clip-text-model.js';
import { encodePrompt, tokenizePrompts } from '../../src/pipelines/encode-prompt.js';
import { StableDiffusionPipeline } from '../../src/pipelines/stable-diffusion.js';
import { loadTextualInversion } from '../../src/pipelines/textual-inversion.js';
import { CLIPTokenizer } from '../../src/tokenizers/index.js';
import { serializeSafetensors } from '../../src/weights/safetensors-write.js';
import { expectClose } from '../helpers/compare.js';
import { fixturePath, loadTensors, readJson } from '../helpers/fixtures.js';
import { expectCode } from '../weights/tmp.js';

interface Scenario {
  name: string;
  added_tokens: Record<string, number>;
  prompts: string[];
  converted_prompts: string[];
}

const TI = (...p: string[]) => fixturePath('reference', 'tiny-sd15', 'textual_inversion', ...p);
const expected = readJson<{ scenarios: Scenario[] }>('reference', 'tiny-sd15', 'textual_inversion', 'expected.json');
const FILES: Record<string, string[]> = {
  single: [TI('learned_embeds.safetensors')],
  'single (.bin)': [TI('learned_embeds.bin')],
  a1111: [TI('my-style.pt')],
  both: [TI('learned_embeds.safetensors'), TI('my-style.pt')],
};

async function load(model = 'tiny-sd15'): Promise<{ tokenizer: CLIPTokenizer; textEncoder: CLIPTextModel }> {
  const folder = fixturePath('pipelines', model);
  return { tokenizer: await CLIPTokenizer.fromPretrained(folder, { subfolder: 'tokenizer' }), textEncoder: await CLIPTextModel.fromPretrained(folder) };
}

describe('textual inversion conformance (tiny-sd15)', async () => {
  const ref = await loadTensors('reference', 'tiny-sd15', 'textual_inversion', 'expected.safetensors');
  it.each(Object.keys(FILES))('scenario %s: ids, extra rows, last_hidden_state', async (name) => {
    const s = expected.scenarios.find((x) => x.name === name.split(' ')[0])!;
    const { tokenizer, textEncoder } = await load();
    const loaded = await loadTextualInversion(tokenizer, textEncoder, FILES[name]);
    const added = Object.fromEntries(loaded.flatMap((l) => l.tokens.map((t, i) => [t, l.ids[i]])));
    expect(added).toEqual(s.added_tokens);
    expect(tokenizer.length).toBe(49408 + Object.keys(added).length);

    expectClose(`${name}.extra_embedding_rows`, textEncoder.addedTokenEmbeddings!, ref.get(`${s.name}.extra_embedding_rows`)!, { abs: 0 });
    const ids = tokenizePrompts(tokenizer, tokenizer.maybeConvertPrompt(s.prompts));
    expect(Array.from(ids.data)).toEqual(Array.from(ref.get(`${s.name}.input_ids`)!.data as BigInt64Array));
    // encodePrompt converts the prompt itself, as diffusers' encode_prompt does.
    const hidden = await encodePrompt(tokenizer, textEncoder, s.prompts);
    const d = expectClose(`${name}.last_hidden_state`, hidden, ref.get(`${s.name}.last_hidden_state`)!, { abs: 2e-5 });
    console.log(`textual inversion ${name}: last_hidden_state max abs error ${d.maxAbs.toExponential(2)}`);
    // The grown table, as the notebook's token_emb_layer sees it.
    const rows = await textEncoder.textModel.embeddings.tokenEmbedding.forward([loaded.flatMap((l) => l.ids)]);
    expectClose('token_embedding rows', rows.reshape([-1, 32]), ref.get(`${s.name}.extra_embedding_rows`)!, { abs: 0 });
    await textEncoder.release();
  });

  it('grows the table in the graph: the checkpoint table stays a weight, the new rows are an input, concat then gather', async () => {
    const { textEncoder } = await load();
    const g = buildCLIPTextGraph(textEncoder.config, { batch: 1, seqLen: 77, input: 'ids', hiddenStates: false, addedTokens: 3 });
    const added = g.inputs.find((v) => v.name === 'added_token_embeddings')!;
    expect(added.shape).toEqual([3, 32]);
    const table = g.weights.get('text_model.embeddings.token_embedding.weight')!;
    expect(table.shape).toEqual([49408, 32]);
    const concat = g.nodes.find((n) => n.op === 'concat')!;
    expect(concat.inputs).toEqual([table.value, added]);
    expect(concat.outputs[0].shape).toEqual([49411, 32]);
    expect(g.nodes.find((n) => n.op === 'gather')!.inputs[0]).toBe(concat.outputs[0]);
    expect(g.constants.size).toBe(0);
  });

  it('an explicit token overrides the file\'s, and a bare tensor needs one', async () => {
    const { tokenizer, textEncoder } = await load();
    const [a] = await loadTextualInversion(tokenizer, textEncoder, TI('learned_embeds.bin'), { token: '<toy>' });
    expect(a).toMatchObject({ token: '<toy>', tokens: ['<toy>'], ids: [49408], format: 'diffusers' });
    const vectors = ref.get('embedding.a1111')! as Tensor<'float32'>;
    await expectCode(loadTextualInversion(tokenizer, textEncoder, vectors), 'EMBEDDING_TOKEN');
    const [b] = await loadTextualInversion(tokenizer, textEncoder, vectors, { token: '<style>' });
    expect(b).toMatchObject({ tokens: ['<style>', '<style>_1'], ids: [49409, 49410], format: 'tensor' });
    expect(tokenizer.maybeConvertPrompt('a <toy> in <style>')).toBe('a <toy> in <style> <style>_1');
    expect(textEncoder.textModel.embeddings.tokenEmbedding.numEmbeddings).toBe(49411);
  });

  it('refuses a width that does not match the text encoder, an existing token, an empty file — and changes nothing', async () => {
    const sd2 = await load('tiny-sd2');
    const e = await expectCode(loadTextualInversion(sd2.tokenizer, sd2.textEncoder, TI('learned_embeds.safetensors')), 'EMBEDDING_WIDTH');
    expect(e.message).toContain('32 values');
    expect(e.message).toContain('hidden size is 8');
    const { tokenizer, textEncoder } = await load();
    await loadTextualInversion(tokenizer, textEncoder, TI('learned_embeds.safetensors'));
    await expectCode(loadTextualInversion(tokenizer, textEncoder, TI('learned_embeds.bin')), 'EMBEDDING_TOKEN_EXISTS');
    await expectCode(loadTextualInversion(tokenizer, textEncoder, TI('my-style.pt'), { token: 'cat</w>' }), 'EMBEDDING_TOKEN_EXISTS');
    await expectCode(loadTextualInversion(tokenizer, textEncoder, [TI('my-style.pt'), TI('my-style.pt')]), 'EMBEDDING_TOKEN_EXISTS');
    await expectCode(loadTextualInversion(tokenizer, textEncoder, { name: 'empty.pt', bytes: new Uint8Array(0) }), 'EMBEDDING_EMPTY');
    const two = serializeSafetensors({ a: Tensor.zeros([32]), b: Tensor.zeros([32]) });
    await expectCode(loadTextualInversion(tokenizer, textEncoder, { name: 'two.safetensors', bytes: two }), 'EMBEDDING_FORMAT');
    await expectCode(loadTextualInversion(tokenizer, textEncoder, [TI('my-style.pt')], { token: ['a', 'b'] }), 'EMBEDDING_ARGUMENT');
    expect(tokenizer.length).toBe(49409);
    expect(textEncoder.textModel.embeddings.tokenEmbedding.numEmbeddings).toBe(49409);
  });

  it('reads files from memory and [1, H] diffusers files', async () => {
    const { tokenizer, textEncoder } = await load();
    const row = ref.get('embedding.cat_toy')!.reshape([1, 32]);
    const bytes = serializeSafetensors({ '<one>': row });
    const [l] = await loadTextualInversion(tokenizer, textEncoder, [{ name: 'one.safetensors', bytes }, { name: 'my-style.pt', bytes: readFileSync(TI('my-style.pt')) }]);
    expect(l).toMatchObject({ file: 'one.safetensors', tokens: ['<one>'], ids: [49408] });
    expect(tokenizer.convertTokensToIds(['<one>', 'my-style', 'my-style_1'])).toEqual([49408, 49409, 49410]);
  });

  it('pipe.loadTextualInversion: the pipeline uses the token in prompts and negative prompts', async () => {
    const pipe = await StableDiffusionPipeline.fromPretrained(fixturePath('pipelines', 'tiny-sd15'));
    await pipe.loadTextualInversion([TI('learned_embeds.safetensors'), TI('my-style.pt')]);
    const plain = await StableDiffusionPipeline.fromPretrained(fixturePath('pipelines', 'tiny-sd15'));
    const opts = { numInferenceSteps: 2, height: 64, width: 64, seed: 1, outputType: 'latent' as const };
    const withToken = await pipe.call({ ...opts, prompt: 'a <cat-toy> in my-style', negativePrompt: 'my-style' });
    const without = await plain.call({ ...opts, prompt: 'a <cat-toy> in my-style', negativePrompt: 'my-style' });
    expect(withToken.latents.data).not.toEqual(without.latents.data);
    await pipe.release();
    await plain.release();
  });
});
