// Guidance with a loss: steer the sampling with the gradient of a loss on the decoded image. The
// notebook's example is the "blue loss", how far the picture's blue channel is from 0.9. Every 5th
// step the loop decodes the model's current guess of the clean latents, x̂₀ = x − σ·ε̂, measures the
// loss, and moves the latents down its gradient, scaled by σ². The gradient is latentlab's own:
// grad() appends the backward pass of the VAE decoder to the graph, and one ONNX Runtime session
// computes the loss and d loss / d latents. The pipelines' `lossGuidance` option does the same.
//
//   npx tsx examples/deep-dive/10-loss-guidance.ts [--prompt "..."] [--seed 32] [--steps 50] [--scale 200] [--every 5]
//     [--scheduler lms]

import {
  AutoencoderKL, classifierFreeGuidance, encodePrompt, Generator, grad, Graph, imageGrid, LatentlabError, latentsToImages, Module, ops, type RgbImage, scale,
  schedulerFromPretrained, Tensor, type Value, vaeDecoder, zipWith,
} from 'latentlab';

import { enlarge, fmt, loadPipeline, OutputFolder, parseExampleArgs, runIfMain } from './common.js';

/** The notebook's blue_loss: the mean distance of the blue channel from 0.9. images [1, 3, H, W] */
const blueLoss = (images: Value) => ops.reduceMean(ops.abs(ops.sub(ops.slice(images, 1, 2, 3), 0.9)), [0, 1, 2, 3], false);

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, '10-loss-guidance', {
    prompt: 'a photo of a red dress', seed: 32, steps: 50, guidanceScale: 8, scale: 200, every: 5, scheduler: 'lms',
  });
  const out = await OutputFolder.create(args.out);
  const pipe = await loadPipeline(args);
  const { tokenizer, textEncoder, unet, vae } = pipe;
  if (!(vae instanceof AutoencoderKL)) throw new LatentlabError('EXAMPLE_ARGUMENT', 'this example differentiates through AutoencoderKL\'s decoder; the model\'s vae is an AutoencoderTiny', { hint: 'pass a model whose vae/ is an AutoencoderKL' });
  const scheduler = await schedulerFromPretrained(pipe.folder, { name: args.scheduler });
  if (scheduler.timestepType !== 'float' || scheduler.order !== 1) {
    throw new LatentlabError('EXAMPLE_ARGUMENT', `--scheduler ${args.scheduler}: the notebook's formulas need a σ-scheduler with one model call per step`, {
      hint: 'use lms, euler or euler-a here; the pipelines\' lossGuidance option handles every scheduler (docs/deep-dive.md §10)',
    });
  }
  const [h, w] = [pipe.defaultSize / vae.vaeScaleFactor, pipe.defaultSize / vae.vaeScaleFactor]; // latents: 8×8 for latentlab-mini, 64×64 for SD 1.x
  const embeddings = Tensor.cat0([await encodePrompt(tokenizer, textEncoder, ['']), await encodePrompt(tokenizer, textEncoder, [args.prompt])]);

  // The loss and its gradient as one graph: latents, noise_pred [1, 4, h, w] and σ → loss, d loss / d latents.
  const g = new Graph('blue_loss');
  const latentsIn = g.input('latents', 'float32', [1, 4, h, w]);
  const noisePredIn = g.input('noise_pred', 'float32', [1, 4, h, w]);
  const sigmaIn = g.input('sigma', 'float32', []);
  const latentsX0 = ops.sub(latentsIn, ops.mul(sigmaIn, noisePredIn)); // x̂₀ = x − σ·ε̂
  const decoded = vaeDecoder(new Module(g), ops.mul(latentsX0, 1 / vae.scalingFactor), vae.config); // [1, 3, 8h, 8w]
  const denoisedImages = ops.add(ops.div(decoded, 2), 0.5); // about 0…1, not clamped
  const loss = ops.mul(blueLoss(denoisedImages), args.scale);
  const [condGrad] = grad(loss, [latentsIn]); // [1, 4, h, w]
  g.output('loss', loss);
  g.output('grad', condGrad);
  const blue = await vae.compileGraph(`blue-loss-${h}x${w}`, () => g);

  // The loop of section 1, with the guidance step before every scheduler step i with i % every == 0.
  scheduler.setTimesteps(args.steps);
  const generator = new Generator().manualSeed(args.seed);
  let latents = scale(generator.randn([1, unet.config.in_channels, h, w]), scheduler.initNoiseSigma);
  const losses: { step: number; loss: number }[] = [];
  for (const [i, t] of scheduler.timesteps.entries()) {
    const latentModelInput = scheduler.scaleModelInput(Tensor.cat0([latents, latents]), t);
    const sigma = scheduler.sigmas![i];
    const noisePred = classifierFreeGuidance((await unet.forward(latentModelInput, t, embeddings)).sample, args.guidanceScale);
    if (i % args.every === 0) {
      const r = await blue.run({ latents, noise_pred: noisePred, sigma: Tensor.float32([], [sigma]) });
      losses.push({ step: i, loss: Number(r.loss.data[0]) });
      if (i % 10 === 0) console.log(i, 'loss:', fmt(losses[losses.length - 1].loss));
      const sigma2 = Math.fround(sigma * sigma); // float32 arithmetic as torch: latents − cond_grad·σ²
      latents = zipWith(latents, r.grad as Tensor<'float32'>, (x, d) => x - Math.fround(d * sigma2));
    }
    latents = scheduler.step(noisePred, t, latents, { generator }).prevSample;
  }
  const [image] = await latentsToImages(vae, latents);

  // The same prompt and seed without the loss, through the pipeline (prompt read as plain text, as the loop above and diffusers do).
  pipe.scheduler = scheduler;
  const [unguided] = (await pipe.call({ prompt: args.prompt, promptSyntax: 'plain', seed: args.seed, numInferenceSteps: args.steps, guidanceScale: args.guidanceScale })).images;
  console.log(`blue loss of the final picture: ${fmt(pictureBlueLoss(unguided))} without guidance, ${fmt(pictureBlueLoss(image))} with it`);
  await out.png('image', image);
  await out.png('comparison', imageGrid([unguided, image].map((p) => enlarge(p, 192)), { labels: ['no loss', `blue loss × ${args.scale}`] }));
  console.log(`"${args.prompt}", seed ${args.seed}, ${args.steps} ${scheduler.className} steps: ${out.files.join(', ')}`);
  await pipe.release();
  return { args, latents, image, unguided, losses, files: out.files };
}

/** blue_loss of a finished 8-bit picture: mean |blue/255 − 0.9|. */
export function pictureBlueLoss(image: RgbImage): number {
  let sum = 0;
  for (let p = 0; p < image.width * image.height; p++) sum += Math.abs(image.data[3 * p + 2] / 255 - 0.9);
  return sum / (image.width * image.height);
}

runIfMain(import.meta.url, main);
