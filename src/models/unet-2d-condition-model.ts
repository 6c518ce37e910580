// UNet2DConditionModel: Stable Diffusion's noise predictor, mirroring diffusers'
// UNet2DConditionModel (models/unets/unet_2d_condition.py, 0.27) for SD 1.x and 2.x folders:
//
//   const unet = await UNet2DConditionModel.fromPretrained('path/to/sd15', { subfolder: 'unet' })
//   const { sample } = await unet.forward(latents, 999, promptEmbeds)     // [B, 4, h, w]
//   const { debug } = await unet.forward(latents, [999, 10], promptEmbeds, { debug: true })
//   debug['down_blocks.0']                                                // what down_blocks[0] returned
//
// The graph is built for the concrete input shapes of each call and compiled once per shape (the
// SessionCache keeps the most recent sessions); the weights stay in their .safetensors files.

import type { WeightData } from '../core/external.js';
import type { Graph } from '../graph/graph.js';
import { isFloat } from '../core/dtype.js';
import { fmtShape, fmtValue, LatentlabError } from '../core/errors.js';
import { Generator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import type { CompiledGraph, CompileOptions } from '../graph/runtime.js';
import { bindGraphWeights, FromPretrainedOptions, type LoadedComponent, loadComponent, SessionCache, withDefaults } from './pretrained.js';
import { type LoraPlan, withLoraPlan } from '../nn/lora.js';
import { loraSessions, type LoraUse } from './lora.js';
import { UNet2DConditionConfig, parseUNet2DConditionConfig } from './unet-config.js';
import { buildUNetGraph, unetDebugNames } from './unet-graph.js';

/** A scalar timestep, one per batch item, or a tensor of either (0-d, [1] or [B]; int or float). */
export type Timestep = number | readonly number[] | Tensor;

export interface UNetForwardOptions {
  /**
   * Also return the intermediates diffusers' module outputs would give (names as in the conformance
   * fixture): time_proj, time_embedding, conv_in, down_blocks.i (after the downsampler; not the skips),
   * mid_block, up_blocks.i, conv_norm_out (before the SiLU).
   */
  debug?: boolean;
  /**
   * diffusers' `timestep_cond` [B, time_cond_proj_dim], for LCM-distilled UNets (config
   * time_cond_proj_dim): the guidance embedding, `guidanceScaleEmbedding(w, time_cond_proj_dim)`.
   */
  timestepCond?: Tensor;
  /**
   * Seamless tiling (AUTOMATIC1111's `tiling`): every conv pads circularly, so the prediction wraps
   * around the edges. A graph and session of its own, cached beside the untiled one.
   */
  tiling?: boolean;
}

export interface UNet2DConditionOutput {
  /** The model prediction (ε, or v for v-prediction models), [B, out_channels, h, w]. */
  sample: Tensor<'float32'>;
  /** Only with `debug: true`: intermediates by module name ("down_blocks.0", "mid_block", …). */
  debug?: Record<string, Tensor<'float32'>>;
}

/**
 * The UNet's session settings unless the caller chooses: level 'extended' (ORT's fusions, e.g.
 * SiLU → QuickGelu; session created in ~0.2 s) with prepacked Gemm weights (+1 s at creation,
 * the same peak RSS). SD 1.5 at 512², batch 2, on a 2-core AVX-512 box: 8.47 s per call against
 * 8.70–8.86 s at 'basic'. Level 'all' (NCHWc convs) reaches 8.34 s but takes 5.2 s to create,
 * which would break the 5 s start-up budget (docs/benchmarks.md).
 */
export const UNET_COMPILE_DEFAULTS: CompileOptions = { optimizationLevel: 'extended', prepacking: true };

export class UNet2DConditionModel {
  private constructor(
    readonly config: UNet2DConditionConfig,
    readonly folder: string,
    private sessions: SessionCache,
    private readonly custom = sessions.forCustomGraphs(),
  ) {}

  private loraPlan?: LoraPlan;

  /**
   * Runs the UNet with these LoRAs as low-rank branches (nn/lora.ts; the weights stay in place), replacing
   * any set before; `[]` removes them. Returns how many UNet modules each file touches.
   */
  async setLoras(uses: readonly LoraUse[]): Promise<number[]> {
    const r = await loraSessions(uses, 'unet', this.custom, this.sessions);
    [this.sessions, this.loraPlan] = [r.sessions, r.plan];
    return r.counts;
  }

  static async fromPretrained(path: string, options: FromPretrainedOptions = {}): Promise<UNet2DConditionModel> {
    return UNet2DConditionModel.fromComponent(await loadComponent(path, 'unet', options), options);
  }

  /** From a config and a weight source (a folder's, or a single-file checkpoint's UNet part). */
  static fromComponent({ folder, config: reader, weights }: LoadedComponent, options: CompileOptions = {}): UNet2DConditionModel {
    const config = parseUNet2DConditionConfig(reader);
    // The weights do not depend on the input size: any probe shape declares them all.
    const probe = buildUNetGraph(config, { batch: 1, height: 8, width: 8, seqLen: 1, timestepCond: config.time_cond_proj_dim !== null });
    const bound = bindGraphWeights(probe, weights, 'unet');
    return new UNet2DConditionModel(config, folder, new SessionCache(bound, withDefaults(UNET_COMPILE_DEFAULTS, options)));
  }

  /**
   * unet(sample, timestep, encoder_hidden_states).sample. `sample` [B, in_channels, h, w];
   * `timestep` a number (broadcast to the batch, like diffusers' Python int/float), a list or tensor of
   * 1 or B values (int64 or float, used as float32: Euler-type schedulers pass fractional ones);
   * `encoderHiddenStates` [B, S, cross_attention_dim].
   */
  async forward(sample: Tensor, timestep: Timestep, encoderHiddenStates: Tensor, options: UNetForwardOptions = {}): Promise<UNet2DConditionOutput> {
    const c = this.config;
    const x = floatInput('sample', sample, 4, `[batch, ${c.in_channels}, height, width]`);
    const [b, ch, h, w] = x.shape;
    if (ch !== c.in_channels || b < 1 || h < 1 || w < 1) {
      throw new LatentlabError('MODEL_INPUT', `unet: sample has shape ${fmtShape(x.shape)}, expected [batch ≥ 1, ${c.in_channels} (in_channels), height ≥ 1, width ≥ 1]`, {
        key: 'sample', hint: 'pass latents of the VAE\'s latent width (in_channels in unet/config.json), batch first',
      });
    }
    const width = c.cross_attention_dim[0];
    const ehs = floatInput('encoderHiddenStates', encoderHiddenStates, 3, `[${b}, sequence, ${width}]`);
    if (ehs.shape[0] !== b || ehs.shape[1] < 1 || ehs.shape[2] !== width) {
      throw new LatentlabError('MODEL_INPUT', `unet: encoderHiddenStates have shape ${fmtShape(ehs.shape)}, expected [${b} (the batch of sample), sequence ≥ 1, ${width} (cross_attention_dim)]`, {
        key: 'encoderHiddenStates',
        hint: ehs.shape[0] !== b
          ? 'give one prompt embedding per latent (with classifier-free guidance: cat([negative, positive]) and the latents twice)'
          : 'use the embeddings of the text encoder this UNet was trained with (its hidden size is cross_attention_dim)',
      });
    }
    const t = timestepTensor(timestep, b);
    const cond = options.timestepCond === undefined ? undefined : this.timestepCondInput(options.timestepCond, b);
    const { debug = false, tiling = false } = options;
    const seqLen = ehs.shape[1];
    const key = `${b}x${h}x${w}:${seqLen}:${debug}:${cond !== undefined}:${tiling}`;
    const overrides = this.precision === 'int8' ? { calibration: this.int8Calibration(x, ehs, cond) } : {};
    const build = () => withLoraPlan(this.loraPlan, () => buildUNetGraph(c, { batch: b, height: h, width: w, seqLen, debug, tiling, timestepCond: cond !== undefined }));
    const r = await this.sessions.run(key, build, { sample: x, timestep: t, encoder_hidden_states: ehs, ...(cond ? { timestep_cond: cond } : {}) }, overrides);
    const out: UNet2DConditionOutput = { sample: r.out as Tensor<'float32'> };
    if (debug) out.debug = Object.fromEntries(unetDebugNames(c).map((name) => [name.slice('debug.'.length), r[name] as Tensor<'float32'>]));
    return out;
  }

  /** 'int8' when compiled with CompileOptions.precision 'int8' (docs/benchmarks.md#int8). */
  get precision(): 'fp32' | 'int8' {
    return this.sessions.options.precision ?? 'fp32';
  }

  /**
   * precision 'int8': the text embeddings [1, S, D] the convs' activation ranges are calibrated with
   * (the pipelines set the empty prompt's, so the ranges do not depend on the first prompt and stay
   * cached); unset, a shape's first call calibrates on its own embeddings.
   */
  int8CalibrationContext?: Tensor<'float32'>;

  /**
   * The calibration inputs for a call's shape: unit-variance noise (what scaleModelInput hands every
   * scheduler's x_t) at four timesteps across the schedule (LCM's 4-step grid), seeded so the same
   * model always gets the same ranges.
   */
  private int8Calibration(x: Tensor<'float32'>, ehs: Tensor<'float32'>, cond?: Tensor<'float32'>): Record<string, Tensor>[] {
    const [b, , h, w] = x.shape;
    const ctx = this.int8CalibrationContext;
    const context = ctx && ctx.shape[1] === ehs.shape[1] && ctx.shape[2] === ehs.shape[2] ? Tensor.cat0(Array<Tensor<'float32'>>(b).fill(ctx.shape[0] === 1 ? ctx : ctx.slice0(0, 1))) : ehs;
    const sample = new Generator().manualSeed(0).randn([b, this.config.in_channels, h, w]);
    return [999, 759, 499, 259].map((t) => ({
      sample, timestep: timestepTensor(t, b), encoder_hidden_states: context, ...(cond ? { timestep_cond: cond } : {}),
    }));
  }

  private timestepCondInput(cond: Tensor, batch: number): Tensor<'float32'> {
    const dim = this.config.time_cond_proj_dim;
    if (dim === null) {
      throw new LatentlabError('MODEL_INPUT', 'unet: timestepCond was given, but this UNet has no guidance embedding (time_cond_proj_dim is null in unet/config.json)', {
        key: 'timestepCond', hint: 'only LCM-distilled UNets take timestepCond; leave it out for this model',
      });
    }
    const x = floatInput('timestepCond', cond, 2, `[${batch}, ${dim}]`);
    if (x.shape[0] !== batch || x.shape[1] !== dim) {
      throw new LatentlabError('MODEL_INPUT', `unet: timestepCond has shape ${fmtShape(x.shape)}, expected [${batch} (the batch of sample), ${dim} (time_cond_proj_dim)]`, {
        key: 'timestepCond', hint: 'pass guidanceScaleEmbedding(w, time_cond_proj_dim) with one row per latent',
      });
    }
    return x;
  }

  /**
   * Compiles a graph of your own on this model's weights — e.g. the UNet (buildUNetGraph) plus a loss and its
   * gradient (grad()) — and keeps the session under `key` for the next call; these sessions run
   * with GRADIENT_COMPILE_DEFAULTS (no memory arena) under the model's options. Weights the graph
   * declares are found by checkpoint key; `options.trainable` feeds chosen ones as inputs (readWeight).
   */
  compileGraph(key: string, build: () => Graph, options: CompileOptions = {}): Promise<CompiledGraph> {
    return this.custom.get(key, build, options);
  }

  /** The checkpoint's tensors this model uses, by key (in-place references into the files). */
  get weightData(): ReadonlyMap<string, WeightData> {
    return this.custom.weights;
  }

  async release(): Promise<void> {
    await this.sessions.release();
    await this.custom.release();
  }
}

function floatInput(name: string, t: Tensor, rank: number, expected: string): Tensor<'float32'> {
  if (!(t instanceof Tensor) || t.rank !== rank || !isFloat(t.dtype)) {
    const found = t instanceof Tensor ? `${t.dtype} ${fmtShape(t.shape)}` : fmtValue(t);
    throw new LatentlabError('MODEL_INPUT', `unet: ${name} is ${found}, expected a float tensor ${expected}`, { key: name });
  }
  return t.dtype === 'float32' ? (t as Tensor<'float32'>) : t.toFloat32();
}

/**
 * The timesteps as float32 [batch]. diffusers turns a Python number into a 1-element tensor, expands
 * a 0-d or 1-element tensor to the batch, and converts to float32 before multiplying by the frequencies.
 */
export function timestepTensor(timestep: Timestep, batch: number): Tensor<'float32'> {
  let values: ArrayLike<number>;
  if (typeof timestep === 'number') values = [timestep];
  else if (timestep instanceof Tensor) {
    if (timestep.rank > 1 || timestep.dtype === 'bool') {
      throw new LatentlabError('MODEL_INPUT', `unet: timestep tensor is ${timestep.dtype} ${fmtShape(timestep.shape)}, expected a number tensor of shape [], [1] or [${batch}]`, { key: 'timestep' });
    }
    values = timestep.toFloat32().data;
  } else if (Array.isArray(timestep)) values = timestep;
  else throw new LatentlabError('MODEL_INPUT', `unet: timestep is ${fmtValue(timestep)}, expected a number, a list of numbers or a tensor`, { key: 'timestep' });

  if (values.length !== 1 && values.length !== batch) {
    throw new LatentlabError('MODEL_INPUT', `unet: ${values.length} timesteps for a batch of ${batch}`, {
      key: 'timestep', hint: `pass one timestep for the whole batch or exactly ${batch} (one per sample)`,
    });
  }
  const out = new Tensor('float32', [batch]);
  for (let i = 0; i < batch; i++) {
    const v = values[values.length === 1 ? 0 : i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new LatentlabError('MODEL_INPUT', `unet: timestep ${fmtValue(v)} is not a finite number`, { key: 'timestep', hint: 'pass the scheduler\'s timesteps (0 … num_train_timesteps − 1)' });
    }
    out.data[i] = v; // rounded to float32, as torch's .float()
  }
  return out;
}
