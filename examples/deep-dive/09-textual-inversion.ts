// Textual inversion, loading and using an embedding: a learned concept is nothing but a vector (or a
// few) for a new token. The notebook loads `learned_embeds.bin`, takes the vector out and puts it in
// the place of "puppy" in the token embeddings by hand; diffusers' load_textual_inversion does the
// same thing properly — a new token in the tokenizer, a new row in the text encoder's table — so that
// the token can simply be written in prompts. This example does both and shows they agree.
//
// On latentlab-mini the embedding is `<teal>` (section 13) put in the place of "red"; the notebook's
// `<cat-toy>` in "A mouse in the style of puppy" is the SD 1.5 variant (docs/deep-dive.md §9).
//
//   npx tsx examples/deep-dive/09-textual-inversion.ts [--embedding FILE] [--prompt "a photo of a red sneaker"] [--word red]

import { fileURLToPath } from 'node:url';

import { add, imageGrid, LatentlabError, readEmbeddingFile, tensorDifference } from 'latentlab';

import { enlarge, fmt, loadPipeline, OutputFolder, parseExampleArgs, runIfMain } from './common.js';

/** `<teal>`, learned on latentlab-mini by section 13 (13-learn-a-colour.ts writes it; diffusers' safetensors format). */
export const TEAL_EMBEDDING = fileURLToPath(new URL('embeddings/teal.safetensors', import.meta.url));

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, '09-textual-inversion', {
    embedding: TEAL_EMBEDDING, prompt: 'a photo of a red sneaker', word: 'red', seed: 42, steps: 50, guidanceScale: 7.5,
  });
  const out = await OutputFolder.create(args.out);
  const pipe = await loadPipeline(args);
  const { tokenizer, textEncoder } = pipe;
  const { tokenEmbedding, positionEmbedding } = textEncoder.textModel.embeddings;
  const H = tokenEmbedding.embeddingDim;

  // 1. The file: one token and its vector(s). Read without running any of the pickle inside.
  const file = await readEmbeddingFile(args.embedding);
  const vectors = file.embedding.rank === 1 ? file.embedding.reshape([1, H]) : file.embedding; // [n, H]
  if (vectors.shape[1] !== H) throw new LatentlabError('EXAMPLE_ARGUMENT', `the embedding has ${vectors.shape[1]} values per vector; this model's text encoder has ${H}`, { hint: 'use an embedding made for this model family' });
  const token = file.token ?? '<concept>';
  console.log(`${file.format} embedding: token ${JSON.stringify(token)}, ${vectors.shape[0]} vector(s) of ${H}`);

  // 2. By hand, as the notebook does: the learned vector in the place of `word`'s token embedding.
  const ids = tokenizer.call([args.prompt], { padding: 'max_length', maxLength: tokenizer.modelMaxLength, truncation: true }).inputIds;
  const wordIds = tokenizer.encode(args.word);
  const position = ids[0].indexOf(wordIds[0]);
  if (wordIds.length !== 1 || position < 0) throw new LatentlabError('EXAMPLE_ARGUMENT', `"${args.word}" is not one token of the prompt "${args.prompt}"`, { key: 'word', hint: 'choose a one-token word of the prompt' });
  const tokenEmbeddings = await tokenEmbedding.forward(ids); // [1, 77, H]
  tokenEmbeddings.data.set(vectors.data.subarray(0, H), position * H); // token_embeddings[0, position] = learned vector
  const byHand = await textEncoder.getOutputEmbeds(add(tokenEmbeddings, await positionEmbedding.weight())); // [1, 77, H]

  // 3. The loader: a new token with id len(tokenizer), a new row in the table — then just write it.
  const before = tokenizer.length;
  const [loaded] = await pipe.loadTextualInversion(args.embedding);
  console.log(`loaded ${JSON.stringify(loaded.token)}: ids ${loaded.ids.join(', ')} (the vocabulary had ${before} tokens; the table now has ${tokenEmbedding.numEmbeddings} rows)`);
  const tokenPrompt = args.prompt.replace(args.word, loaded.token);
  console.log(`"${tokenPrompt}" → ${tokenizer.tokenize(tokenPrompt).join(' ')}`);
  const row = await tokenEmbedding.forward([[loaded.ids[0]]]); // [1, 1, H]: the file's vector
  const withToken = (await textEncoder.forward(tokenizer.call([tokenizer.maybeConvertPrompt(tokenPrompt)], { padding: 'max_length', maxLength: 77, truncation: true }).inputIds)).lastHiddenState;
  const agree = tensorDifference(byHand, withToken).maxAbs;
  console.log(`new row vs the file's vector: max |Δ| = ${fmt(tensorDifference(row.reshape([1, H]), vectors.slice0(0)).maxAbs)}`);
  console.log(`prompt with ${JSON.stringify(loaded.token)} vs the vector swapped in by hand: max |Δ| = ${fmt(agree)}`);

  // 4. Pictures with the word and with the learned concept, same seed.
  const generate = async (prompt: string) => (await pipe.call({ prompt, seed: args.seed, numInferenceSteps: args.steps, guidanceScale: args.guidanceScale })).images[0];
  const images = [await generate(args.prompt), await generate(tokenPrompt)];
  await out.png('word-and-token', imageGrid(images.map((im) => enlarge(im, 128)), { labels: [args.word, loaded.token], title: tokenPrompt }));
  console.log(`pictures: ${out.files.join(', ')}`);
  await pipe.release();
  return { args, file, loaded, byHand, withToken, agree, images, files: out.files };
}

runIfMain(import.meta.url, main);
