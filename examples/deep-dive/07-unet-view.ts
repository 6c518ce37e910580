// The UNet's view: at every step the UNet predicts the noise ε̂ in the current latents x_t, and
// from it the scheduler forms its guess of the finished picture, x̂₀ = x_t − σ·ε̂
// (`predOriginalSample`). Early guesses are blurry averages; they sharpen as σ falls. We watch a
// generation through the pipeline's step callback and decode x_t and x̂₀ at a few steps.
//
//   npx tsx examples/deep-dive/07-unet-view.ts [--model DIR|ID] [--prompt "..."] [--steps 50] [--shown 5]

import { imageGrid, latentChannelGrid, latentsToImages, renderLabels, type StepInfo, Tensor, tensorStats } from 'latentlab';

import { enlarge, fmt, loadPipeline, OutputFolder, parseExampleArgs, runIfMain } from './common.js';

export async function main(argv: string[] = []) {
  const args = parseExampleArgs(argv, '07-unet-view', {
    prompt: 'a photo of a red sneaker', seed: 42, steps: 50, guidanceScale: 7.5, shown: 5,
  });
  const out = await OutputFolder.create(args.out);
  const pipe = await loadPipeline(args);
  const { vae, scheduler } = pipe;

  // Generate, keeping what the callback reports after every step: the latents, the guided model
  // output and the scheduler's x̂₀. σ of each step is read from the schedule that ran.
  const steps: (StepInfo & { sigma?: number })[] = [];
  const result = await pipe.call({
    prompt: args.prompt, seed: args.seed, numInferenceSteps: args.steps, guidanceScale: args.guidanceScale,
    callback: (info) => void steps.push({ ...info }),
  });
  // Each call runs its own copy of the scheduler; the one that ran comes back with the output.
  for (const s of steps) s.sigma = result.scheduler.sigmas?.[s.step];

  // A few evenly spaced steps, first and last included.
  const n = Math.min(args.shown, steps.length);
  const shown = Array.from({ length: n }, (_, i) => steps[Math.round((i * (steps.length - 1)) / Math.max(1, n - 1))]);
  const noun = scheduler.config.prediction_type === 'v_prediction' ? 'v̂ (v-prediction)' : 'ε̂';
  for (const s of shown) {
    const std = (t: Tensor<'float32'>) => fmt(tensorStats(t).std, 3);
    console.log(`step ${String(s.step).padStart(3)}  t=${fmt(s.timestep, 4).padEnd(6)} σ=${fmt(s.sigma ?? NaN, 3).padEnd(6)} std of ${noun} ${std(s.noisePred)}, of the latents ${std(s.latents)}`);
  }

  // Decode the latents after each shown step (top row) and the x̂₀ guesses (bottom row).
  const decode = async (ts: Tensor<'float32'>[]) => (await latentsToImages(vae, Tensor.cat0(ts))).map((im) => enlarge(im, 128));
  const current = await decode(shown.map((s) => s.latents));
  const predicted = await decode(shown.map((s) => s.predOriginalSample ?? s.latents));
  const labels = [...shown.map((s) => `x after step ${s.step}`), ...shown.map((s) => `x̂₀ at step ${s.step}`)];
  await out.png('strip', imageGrid([...current, ...predicted], { columns: n, labels, title: args.prompt }));

  // The predicted noise itself, channel by channel: one row per shown step.
  const upscale = Math.max(1, Math.ceil(96 / steps[0].latents.shape[3]));
  const rows = await Promise.all(shown.map((s) => renderLabels(latentChannelGrid(s.noisePred, { upscale }))));
  await out.png('predicted-noise', imageGrid(rows, { columns: 1, labels: shown.map((s) => `${noun} at step ${s.step} (t=${fmt(s.timestep, 4)})`) }));
  console.log(`pictures: ${out.files.join(', ')}`);
  await pipe.release();
  return { args, steps, shown, files: out.files };
}

runIfMain(import.meta.url, main);
