// The diffusers configs of a single-file checkpoint's components, as diffusers 0.27 derives them
// (loaders/single_file_utils.py: create_unet_diffusers_config, create_vae_diffusers_config,
// create_scheduler_from_ldm): from the LDM YAML when there is one (beside the checkpoint or given),
// else from the standard SD 1.x / 2.x YAML values with every size read off the tensor shapes —
// so a fine-tune with 9 input channels (inpainting) or another width is described by its weights.
//
// What the weights cannot tell: the number of attention heads (SD 1: 8 everywhere; SD 2: 64-wide
// heads), GroupNorm groups (32), the VAE scaling factor (0.18215), the βₜ schedule and the
// prediction type — SD 2 files are v-prediction unless global_step = 875000 (SD 2 base), as in
// diffusers; a YAML `parameterization: v` or an explicit option decides otherwise.

import { LatentlabError } from '../../core/errors.js';
import type { WeightSource } from '../source.js';
import type { CheckpointFamily } from './detect.js';
import { openClipLayers, unetLayersPerBlock, UNET_PREFIX } from './ldm-keys.js';
import type { YamlValue } from './ldm-yaml.js';

type Raw = Record<string, unknown>;
type Yaml = { [key: string]: YamlValue };

export interface InferredConfigs {
  unet: Raw;
  vae: Raw;
  textEncoder: Raw;
  /** Text-encoder layers taken from the file (SD 2 drops its last block: the penultimate layer). */
  textLayers: number;
  scheduler: Raw;
  /** "epsilon" or "v_prediction", and where that came from (for `latentlab info` and errors). */
  predictionType: string;
  predictionFrom: 'option' | 'yaml' | 'global_step' | 'default';
}

export interface InferOptions {
  /** The parsed LDM YAML, if any. */
  yaml?: Yaml;
  /** Overrides the YAML and the inference. */
  predictionType?: 'epsilon' | 'v_prediction';
  /** The .ckpt's global_step, if stored. */
  globalStep?: number;
}

/** yaml.model.params… (undefined when a level is missing). */
function at(y: Yaml | undefined, path: string): YamlValue | undefined {
  let v: YamlValue | undefined = y;
  for (const p of path.split('.')) v = v !== null && typeof v === 'object' && !Array.isArray(v) ? v[p] : undefined;
  return v;
}

function shape(file: WeightSource, key: string): readonly number[] {
  if (!file.has(key)) {
    throw new LatentlabError('SINGLE_FILE_INCOMPLETE', `${file.describe()} has no "${key}", which every Stable Diffusion checkpoint has`, {
      file: file.paths[0], key, hint: 'the file is truncated or not a full checkpoint: download it again',
    });
  }
  return file.info(key).shape;
}

export function inferConfigs(file: WeightSource, family: CheckpointFamily, o: InferOptions): InferredConfigs {
  const y = o.yaml;
  const unet = unetConfig(file, family, at(y, 'model.params.unet_config.params') as Yaml | undefined);
  const vae = vaeConfig(file, at(y, 'model.params.first_stage_config.params.ddconfig') as Yaml | undefined, at(y, 'model.params.scale_factor'));
  const { config: textEncoder, layers: textLayers } = textConfig(file, family, at(y, 'model.params.cond_stage_config.params') as Yaml | undefined);
  let predictionType = 'epsilon';
  let predictionFrom: InferredConfigs['predictionFrom'] = 'default';
  if (o.predictionType) [predictionType, predictionFrom] = [o.predictionType, 'option'];
  else if (y) {
    // create_scheduler_from_ldm: parameterization v, unless the brittle SD 2 base global step says otherwise.
    if (at(y, 'model.params.parameterization') === 'v') [predictionType, predictionFrom] = [o.globalStep === 875000 ? 'epsilon' : 'v_prediction', 'yaml'];
  } else if (family === 'sd2') [predictionType, predictionFrom] = [o.globalStep === 875000 ? 'epsilon' : 'v_prediction', 'global_step'];
  // diffusers' default image size: 768 for v-prediction SD 2 (the 768 models), else 512.
  unet.sample_size = (family === 'sd2' && predictionType === 'v_prediction' ? 768 : 512) / 8;
  const num = (path: string, d: number) => (typeof at(y, path) === 'number' ? (at(y, path) as number) : d);
  const scheduler: Raw = {
    _class_name: 'DDIMScheduler', // create_scheduler_from_ldm's default scheduler_type
    num_train_timesteps: num('model.params.timesteps', 1000),
    beta_start: num('model.params.linear_start', 0.00085),
    beta_end: num('model.params.linear_end', 0.012),
    beta_schedule: 'scaled_linear', // LDM's "linear" is √β-linear: diffusers' scaled_linear
    clip_sample: false, set_alpha_to_one: false, steps_offset: 1, timestep_spacing: 'leading', prediction_type: predictionType,
  };
  return { unet, vae, textEncoder, textLayers, scheduler, predictionType, predictionFrom };
}

function unetConfig(file: WeightSource, family: CheckpointFamily, p: Yaml | undefined): Raw {
  const P = UNET_PREFIX;
  const conv = shape(file, `${P}input_blocks.0.0.weight`); // [C0, in_channels, 3, 3]
  const L = typeof p?.num_res_blocks === 'number' ? p.num_res_blocks : unetLayersPerBlock(file.keys) ?? 2;
  const inputs = new Set(file.keys.filter((k) => k.startsWith(`${P}input_blocks.`)).map((k) => Number(k.split('.')[3])));
  const n = Math.round(inputs.size / (L + 1));
  const levels = Array.from({ length: n }, (_, i) => (L + 1) * i + 1);
  const channels = Array.isArray(p?.channel_mult) && typeof p?.model_channels === 'number'
    ? (p.channel_mult as number[]).map((m) => (p.model_channels as number) * m)
    : levels.map((k) => shape(file, `${P}input_blocks.${k}.0.out_layers.3.weight`)[0]);
  const attn = Array.isArray(p?.attention_resolutions)
    ? channels.map((_, i) => (p.attention_resolutions as number[]).includes(2 ** i))
    : levels.map((k) => file.has(`${P}input_blocks.${k}.1.proj_in.weight`));
  const first = levels[attn.indexOf(true)] ?? levels[0];
  const projIn = `${P}input_blocks.${first}.1.proj_in.weight`;
  const linear = typeof p?.use_linear_in_transformer === 'boolean' ? p.use_linear_in_transformer : file.has(projIn) && shape(file, projIn).length === 2;
  const context = typeof p?.context_dim === 'number' ? p.context_dim : shape(file, `${P}input_blocks.${first}.1.transformer_blocks.0.attn2.to_k.weight`)[1];
  // attention_head_dim holds the number of HEADS (diffusers' misnomer): an int num_heads, a list of
  // them (per level), or model_channels / num_head_channels × channel_mult (SD 2: [5, 10, 20, 20]).
  let heads: number | number[];
  if (typeof p?.num_heads === 'number' && p.num_heads > 0) heads = p.num_heads;
  else if (Array.isArray(p?.num_heads)) heads = p.num_heads as number[];
  else if (typeof p?.num_head_channels === 'number' && p.num_head_channels > 0) heads = channels.map((c) => c / (p.num_head_channels as number));
  else heads = family === 'sd2' ? channels.map((c) => c / 64) : 8;
  const depth = new Set(file.keys.filter((k) => k.startsWith(`${P}input_blocks.${first}.1.transformer_blocks.`)).map((k) => k.split('.')[6])).size;
  return {
    _class_name: 'UNet2DConditionModel',
    in_channels: conv[1],
    out_channels: shape(file, `${P}out.2.weight`)[0],
    block_out_channels: channels,
    layers_per_block: L,
    down_block_types: attn.map((a) => (a ? 'CrossAttnDownBlock2D' : 'DownBlock2D')),
    up_block_types: [...attn].reverse().map((a) => (a ? 'CrossAttnUpBlock2D' : 'UpBlock2D')),
    mid_block_type: 'UNetMidBlock2DCrossAttn',
    attention_head_dim: heads,
    cross_attention_dim: context,
    use_linear_projection: linear,
    transformer_layers_per_block: typeof p?.transformer_depth === 'number' ? p.transformer_depth : Math.max(depth, 1),
    norm_num_groups: typeof p?.norm_num_groups === 'number' ? p.norm_num_groups : 32,
    upcast_attention: p?.upcast_attention === true,
  };
}

function vaeConfig(file: WeightSource, d: Yaml | undefined, scale: YamlValue | undefined): Raw {
  const V = 'first_stage_model.';
  const levels = new Set(file.keys.filter((k) => k.startsWith(`${V}encoder.down.`)).map((k) => Number(k.split('.')[3])));
  const blocks = new Set(file.keys.filter((k) => k.startsWith(`${V}encoder.down.0.block.`)).map((k) => k.split('.')[5]));
  const channels = Array.isArray(d?.ch_mult) && typeof d?.ch === 'number'
    ? (d.ch_mult as number[]).map((m) => (d.ch as number) * m)
    : [...levels].sort((a, b) => a - b).map((i) => shape(file, `${V}encoder.down.${i}.block.0.conv2.weight`)[0]);
  const n = channels.length;
  return {
    _class_name: 'AutoencoderKL',
    in_channels: typeof d?.in_channels === 'number' ? d.in_channels : shape(file, `${V}encoder.conv_in.weight`)[1],
    out_channels: typeof d?.out_ch === 'number' ? d.out_ch : shape(file, `${V}decoder.conv_out.weight`)[0],
    latent_channels: typeof d?.z_channels === 'number' ? d.z_channels : shape(file, `${V}post_quant_conv.weight`)[0],
    block_out_channels: channels,
    layers_per_block: typeof d?.num_res_blocks === 'number' ? d.num_res_blocks : blocks.size,
    down_block_types: Array(n).fill('DownEncoderBlock2D'),
    up_block_types: Array(n).fill('UpDecoderBlock2D'),
    norm_num_groups: typeof d?.norm_num_groups === 'number' ? d.norm_num_groups : 32,
    scaling_factor: typeof scale === 'number' ? scale : 0.18215,
    sample_size: typeof d?.resolution === 'number' ? d.resolution : 512,
  };
}

function textConfig(file: WeightSource, family: CheckpointFamily, p: Yaml | undefined): { config: Raw; layers: number } {
  const t = (p?.text_config ?? undefined) as Yaml | undefined;
  const num = (k: string, d: number) => (typeof t?.[k] === 'number' ? (t[k] as number) : d);
  if (family === 'sd1') {
    const C = 'cond_stage_model.transformer.';
    const tm = file.has(`${C}text_model.embeddings.token_embedding.weight`) ? `${C}text_model.` : C;
    const [vocab, hidden] = shape(file, `${tm}embeddings.token_embedding.weight`);
    const layers = new Set(file.keys.filter((k) => k.startsWith(`${tm}encoder.layers.`)).map((k) => k.slice(tm.length).split('.')[2])).size;
    const config = {
      hidden_size: hidden, vocab_size: vocab, num_hidden_layers: num('num_hidden_layers', layers),
      intermediate_size: shape(file, `${tm}encoder.layers.0.mlp.fc1.weight`)[0], num_attention_heads: num('num_attention_heads', hidden / 64),
      max_position_embeddings: shape(file, `${tm}embeddings.position_embedding.weight`)[0],
      hidden_act: typeof t?.hidden_act === 'string' ? t.hidden_act : 'quick_gelu', layer_norm_eps: num('layer_norm_eps', 1e-5),
      bos_token_id: 49406, eos_token_id: 49407, pad_token_id: num('pad_token_id', 49407),
    };
    return { config, layers: config.num_hidden_layers };
  }
  const O = 'cond_stage_model.model.';
  const [vocab, hidden] = shape(file, `${O}token_embedding.weight`);
  const stored = openClipLayers(file.keys);
  // FrozenOpenCLIPEmbedder's layer: "penultimate" (SD 2's default) stops one block early.
  const layers = p?.layer === 'last' ? stored : stored - 1;
  const config = {
    hidden_size: hidden, vocab_size: vocab, num_hidden_layers: layers,
    intermediate_size: shape(file, `${O}transformer.resblocks.0.mlp.c_fc.weight`)[0], num_attention_heads: num('num_attention_heads', hidden / 64),
    max_position_embeddings: shape(file, `${O}positional_embedding`)[0],
    hidden_act: typeof t?.hidden_act === 'string' ? t.hidden_act : 'gelu', layer_norm_eps: num('layer_norm_eps', 1e-5),
    bos_token_id: 49406, eos_token_id: 49407, pad_token_id: num('pad_token_id', 0),
  };
  return { config, layers };
}
