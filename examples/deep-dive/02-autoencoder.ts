// The autoencoder: an image becomes 4 small channels and comes back almost unchanged. The VAE's
// encoder does not return one latent but a distribution q(z | x) = N(mean, std²) (`latentDist`);
// its std is tiny, so sampling from it hardly differs from taking the mean.
//
//   npx tsx examples/deep-dive/02-autoencoder.ts [--model DIR|ID] [--image FILE] [--seed 0]

import {
  AutoencoderKL, decodeToPixels, Generator, imageGrid, LatentlabError, latentChannelGrid, latentsToImages, preprocess, scale, tensorDifference, tensorStats,
} from 'latentlab';

import { enlarge, fmt, fmtStats, loadImage, loadPipeline, OutputFolder, parseExampleArgs, runIfMain, sampleImage } from './common.js';

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, '02-autoencoder', { image: sampleImage('red-sneaker.png'), seed: 0, size: 0 });
  const out = await OutputFolder.create(args.out);
  const pipe = await loadPipeline(args);
  const { vae } = pipe;
  if (!(vae instanceof AutoencoderKL)) throw new LatentlabError('EXAMPLE_ARGUMENT', 'this example shows AutoencoderKL\'s posterior; the model\'s vae is an AutoencoderTiny', { hint: 'pass a model whose vae/ is an AutoencoderKL' });
  const image = await loadImage(args.image, args.size || pipe.defaultSize);

  // Encode: pixels in [−1, 1] → the posterior over latents.
  const x = preprocess(image); // [1, 3, H, W]
  const { latentDist } = await vae.encode(x);
  const [mean, std, variance] = [tensorStats(latentDist.mean), tensorStats(latentDist.std), tensorStats(latentDist.var)];
  console.log(`image ${image.width}×${image.height}×3 = ${x.size} numbers → latents [${latentDist.mean.shape.join(', ')}] = ${latentDist.mean.size} numbers (${fmt(x.size / latentDist.mean.size)}× fewer)`);
  console.log(`latentDist.mean  ${fmtStats(mean)}`);
  console.log(`latentDist.std   ${fmtStats(std)}`);
  console.log(`latentDist.var   ${fmtStats(variance)}`);
  const ratio = std.mean / mean.absMean;
  console.log(`typical std / typical |mean| = ${fmt(ratio)}: ${ratio < 0.1
    ? 'tiny, so a sample is the mean plus a whisper of noise'
    : 'not small: a sample differs visibly from the mean (a random VAE gives about 1)'}`);

  // A sample from q(z | x), scaled by 0.18215 so the UNet sees roughly unit variance.
  const generator = new Generator().manualSeed(args.seed);
  const latents = scale(latentDist.sample(generator), vae.scalingFactor); // the notebook's `encoded`
  console.log(`latents = ${fmt(vae.scalingFactor)} · latentDist.sample(): ${fmtStats(tensorStats(latents))}`);
  await out.png('latent-channels', latentChannelGrid(latents));

  // Decode it back and compare with the input, in [−1, 1] and in 0…255 pixel levels.
  const decoded = await decodeToPixels(vae, latents); // [1, 3, H, W]
  const error = tensorDifference(decoded, x);
  const [reconstruction] = await latentsToImages(vae, latents);
  console.log(`reconstruction error: mean |Δ| ${fmt(error.meanAbs)} (${fmt(error.meanAbs * 127.5)} levels of 255), RMS ${fmt(error.rms)}, max ${fmt(error.maxAbs)}`);
  await out.png('input', image);
  await out.png('reconstruction', reconstruction);
  await out.png('side-by-side', imageGrid([enlarge(image, 128), enlarge(reconstruction, 128)], { labels: ['input', 'decoded'] }));
  await pipe.release();
  return { args, latentDist, latents, decoded, error, stats: { mean, std, var: variance }, files: out.files };
}

runIfMain(import.meta.url, main);
