// Text embeddings: how a prompt becomes the [1, 77, H] tensor the UNet listens to, and what happens
// when we edit it on the way. The text encoder starts by looking up one learned vector per token
// (token embeddings) and adding one learned vector per position (position embeddings); the
// transformer layers turn the sum into the output embeddings. Entering at the sum lets us swap a
// word for another ("red" → "blue") or blend two words, without any new text.
//
// On latentlab-mini the swap is "red" → "blue" (a colour change you can see); the notebook's
// "puppy" → "cat" is the SD 1.5 variant (docs/deep-dive.md §5).
//
//   npx tsx examples/deep-dive/05-text-embeddings.ts [--prompt "a photo of a red sneaker"] [--word red] [--replacement blue] [--mix 0.5]

import { add, imageGrid, LatentlabError, linearCombination, type Tensor, tensorDifference } from 'latentlab';

import { enlarge, fmt, loadPipeline, OutputFolder, parseExampleArgs, runIfMain } from './common.js';

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, '05-text-embeddings', {
    prompt: 'a photo of a red sneaker', word: 'red', replacement: 'blue', mix: 0.5, seed: 42, steps: 50, guidanceScale: 7.5,
  });
  const out = await OutputFolder.create(args.out);
  const pipe = await loadPipeline(args);
  const { tokenizer, textEncoder } = pipe;
  const { tokenEmbedding, positionEmbedding } = textEncoder.textModel.embeddings; // the notebook's token_emb_layer, pos_emb_layer
  const H = tokenEmbedding.embeddingDim;

  // 1. Tokens and their ids: [bos] + tokens + [eos], padded to 77.
  const inputIds = tokenizer.call([args.prompt], { padding: 'max_length', maxLength: tokenizer.modelMaxLength, truncation: true }).inputIds;
  const used = inputIds[0].slice(0, tokenizer.tokenize(args.prompt).length + 2);
  console.log(`"${args.prompt}" → ${used.map((id) => `${tokenizer.convertIdsToTokens(id)} ${id}`).join(' | ')} | … (77 ids)`);

  // 2. Token embeddings: row `id` of a [vocabulary, H] table. 3. Position embeddings: [77, H].
  const tokenEmbeddings = await tokenEmbedding.forward(inputIds); // [1, 77, H]
  const positionEmbeddings = await positionEmbedding.weight(); // [77, H]
  const wordId = singleTokenId(tokenizer.encode(args.word), args.word);
  const replacementId = singleTokenId(tokenizer.encode(args.replacement), args.replacement);
  const wordEmbedding = await tokenEmbedding.forward([[wordId]]); // [1, 1, H]
  console.log(`token embedding table [${tokenEmbedding.numEmbeddings}, ${H}]; "${args.word}" (id ${wordId}) starts ${preview(wordEmbedding)}`);
  console.log(`position embeddings [${positionEmbeddings.shape.join(', ')}]; position 0 starts ${preview(positionEmbeddings)}`);

  // 4. Their sum is the encoder's input; getOutputEmbeds runs the transformer from there.
  const inputEmbeddings = add(tokenEmbeddings, positionEmbeddings); // [1, 77, H]
  const outputEmbeddings = await textEncoder.getOutputEmbeds(inputEmbeddings); // [1, 77, H]
  const direct = (await textEncoder.forward(inputIds)).lastHiddenState;
  console.log(`getOutputEmbeds(token + position) vs textEncoder.forward(ids): max |Δ| = ${fmt(tensorDifference(outputEmbeddings, direct).maxAbs)}`);

  // 5. Swap: put the replacement's token embedding where the word was, and encode again.
  const position = inputIds[0].indexOf(wordId);
  if (position < 0) throw new LatentlabError('EXAMPLE_ARGUMENT', `"${args.word}" is not in the prompt "${args.prompt}"`, { key: 'word', hint: 'choose a word of the prompt' });
  const replacementEmbedding = await tokenEmbedding.forward([[replacementId]]);
  const withRow = (row: Tensor<'float32'>) => {
    const edited = tokenEmbeddings.clone();
    edited.data.set(row.data, position * H); // token_embeddings[0, position] = row
    return edited;
  };
  const swapTokenEmbeddings = withRow(replacementEmbedding);
  const swapInputEmbeddings = add(swapTokenEmbeddings, positionEmbeddings);
  const swapEmbeddings = await textEncoder.getOutputEmbeds(swapInputEmbeddings);

  // 6. Mix: a point between the two words' embeddings, (1 − m)·word + m·replacement.
  const mixRow = linearCombination([[1 - args.mix, wordEmbedding], [args.mix, replacementEmbedding]]);
  const mixEmbeddings = await textEncoder.getOutputEmbeds(add(withRow(mixRow), positionEmbeddings));

  // 7. One picture per encoding, same seed: only the text conditioning differs.
  const generate = async (promptEmbeds: Tensor<'float32'>) =>
    (await pipe.call({ promptEmbeds, seed: args.seed, numInferenceSteps: args.steps, guidanceScale: args.guidanceScale })).images[0];
  const images = [await generate(direct), await generate(swapEmbeddings), await generate(mixEmbeddings)];
  const labels = [args.word, `${args.word} → ${args.replacement}`, `${fmt(1 - args.mix)}·${args.word} + ${fmt(args.mix)}·${args.replacement}`];
  await out.png('swap-and-mix', imageGrid(images.map((im) => enlarge(im, 128)), { labels, title: args.prompt }));
  console.log(`pictures for ${labels.join(', ')}: ${out.files.join(', ')}`);
  await pipe.release();
  return {
    args, inputIds, tokenEmbeddings, positionEmbeddings, inputEmbeddings, outputEmbeddings, direct,
    swapTokenEmbeddings, swapInputEmbeddings, swapEmbeddings, mixEmbeddings, images, files: out.files,
  };
}

function singleTokenId(ids: number[], word: string): number {
  if (ids.length !== 1) throw new LatentlabError('EXAMPLE_ARGUMENT', `"${word}" is ${ids.length} tokens, not one`, { key: word, hint: 'swap and mix single-token words (most common English words are one token)' });
  return ids[0];
}

function preview(t: Tensor<'float32'>): string {
  return `[${Array.from(t.data.subarray(0, 4), (v) => fmt(v, 3)).join(', ')}, …]`;
}

runIfMain(import.meta.url, main);
