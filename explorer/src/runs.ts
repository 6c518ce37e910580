// The generating panels: txt2img with the step view (the latents' four channels and the decoded
// prediction of x̂₀ after every step, waiting on the pause/step gate), img2img with its noised
// start, and the notebook's embedding swap ("red" → "blue" in the token embeddings).

import {
  add, Generator, img2imgTimesteps, imageToLatents, LatentlabError, latentChannelGrid, latentsToImages, type RgbImage,
  StableDiffusionImg2ImgPipeline, type StableDiffusionPipeline, type StepInfo, Tensor,
} from 'latentlab/web';

import { $, drawImage } from './draw.js';
import type { Stepper } from './stepper.js';

export interface RunSettings {
  prompt: string;
  steps: number;
  guidanceScale: number;
  seed: number;
}

/** The step view: channels of the latents, and x̂₀ decoded when the scheduler forms it. */
function stepView(pipe: StableDiffusionPipeline, gate: Stepper, onStep?: (step: number) => void) {
  return async (info: StepInfo) => {
    onStep?.(info.step);
    drawImage('latents-view', latentChannelGrid(info.latents, { upscale: 4, labels: false }).image);
    const x0 = info.predOriginalSample;
    if (x0) drawImage('x0-view', (await latentsToImages(pipe.vae, x0))[0]);
    $('step-label').textContent = `step ${info.step + 1} of ${info.numSteps}, timestep ${Math.round(info.timestep)}` +
      (x0 ? '' : ' — this scheduler forms no x̂₀ (try euler or ddim)');
    await gate.wait();
  };
}

export async function runTxt2Img(pipe: StableDiffusionPipeline, s: RunSettings, gate: Stepper, onStep?: (step: number) => void): Promise<RgbImage> {
  const out = await pipe.call({
    prompt: s.prompt, numInferenceSteps: s.steps, guidanceScale: s.guidanceScale, seed: s.seed, callback: stepView(pipe, gate, onStep),
  });
  return out.images[0];
}

/** The start img2img denoises from: the image's latents noised to the first timestep it runs, as the pipeline draws them. */
async function noisedStart(pipe: StableDiffusionPipeline, image: RgbImage, s: RunSettings & { strength: number }): Promise<Tensor<'float32'>> {
  const scheduler = pipe.scheduler;
  scheduler.setTimesteps(s.steps);
  const { timesteps } = img2imgTimesteps(scheduler.timesteps, scheduler.order, s.steps, s.strength);
  const generator = new Generator().manualSeed(s.seed); // the pipeline's draws, in its order: posterior sample, then noise
  const z0 = await imageToLatents(pipe.vae, image, generator);
  return scheduler.addNoise(z0, generator.randn(z0.shape), [timesteps[0]]);
}

export async function runImg2Img(pipe: StableDiffusionPipeline, s: RunSettings & { strength: number }, image: RgbImage, gate: Stepper): Promise<RgbImage> {
  const f = pipe.vaeScaleFactor;
  if (image.width % f !== 0 || image.height % f !== 0) {
    throw new LatentlabError('PIPELINE_SIZE', `the start image is ${image.width}×${image.height}; its sides must be multiples of ${f}`, { key: 'image', hint: 'crop or resize it first' });
  }
  drawImage('noised-view', (await latentsToImages(pipe.vae, await noisedStart(pipe, image, s)))[0]);
  const img2img = new StableDiffusionImg2ImgPipeline({ ...pipe, schedulerConfig: {}, releaseSessions: false });
  const out = await img2img.call({
    prompt: s.prompt, image, strength: s.strength, numInferenceSteps: s.steps, guidanceScale: s.guidanceScale, seed: s.seed,
    callback: stepView(pipe, gate),
  });
  drawImage('img2img-result', out.images[0]);
  return out.images[0];
}

function singleToken(pipe: StableDiffusionPipeline, word: string): number {
  const ids = pipe.tokenizer.encode(word);
  if (ids.length !== 1) {
    throw new LatentlabError('EXPLORER_WORD', `"${word}" is ${ids.length} tokens, not one`, { key: word, hint: 'swap single-token words (most common English words are one token)' });
  }
  return ids[0];
}

/** The prompt as written, and with `word`'s token-embedding row replaced by `replacement`'s. */
export async function runSwap(pipe: StableDiffusionPipeline, s: RunSettings, word: string, replacement: string): Promise<void> {
  const { tokenizer, textEncoder } = pipe;
  const { tokenEmbedding, positionEmbedding } = textEncoder.textModel.embeddings;
  const ids = tokenizer.call([s.prompt], { padding: 'max_length', maxLength: tokenizer.modelMaxLength, truncation: true }).inputIds;
  const [wordId, replacementId] = [singleToken(pipe, word), singleToken(pipe, replacement)];
  const position = ids[0].indexOf(wordId);
  if (position < 0) throw new LatentlabError('EXPLORER_WORD', `"${word}" is not in the prompt "${s.prompt}"`, { key: word, hint: 'choose a word of the prompt' });
  const tokenEmbeddings = await tokenEmbedding.forward(ids); // [1, 77, H]
  const H = tokenEmbeddings.shape[2];
  const swapped = tokenEmbeddings.clone();
  swapped.data.set((await tokenEmbedding.forward([[replacementId]])).data, position * H); // token_embeddings[0, position] = row
  const positions = await positionEmbedding.weight(); // [77, H]
  const generate = async (promptEmbeds: Tensor<'float32'>) =>
    (await pipe.call({ promptEmbeds, numInferenceSteps: s.steps, guidanceScale: s.guidanceScale, seed: s.seed })).images[0];
  drawImage('swap-original', await generate(await textEncoder.getOutputEmbeds(add(tokenEmbeddings, positions))));
  drawImage('swap-result', await generate(await textEncoder.getOutputEmbeds(add(swapped, positions))));
  $('swap-caption').textContent = `"${word}" → "${replacement}"`;
}
