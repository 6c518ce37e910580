// Configs for random-weight pipelines (random-pipeline.ts): the real Stable Diffusion 1.5 folder's
// configs (runwayml/stable-diffusion-v1-5 → stable-diffusion-v1-5/stable-diffusion-v1-5, as
// diffusers 0.27 reads them) and a tiny one with the same architecture at toy widths (the shapes
// of the conformance fixture tiny-sd15), for tests.

export interface RandomPipelinePreset {
  /** unet/config.json */
  unet: Record<string, unknown>;
  /** vae/config.json */
  vae: Record<string, unknown>;
  /** text_encoder/config.json (transformers CLIPTextConfig) */
  textEncoder: Record<string, unknown>;
  /** scheduler/scheduler_config.json */
  scheduler: Record<string, unknown>;
}

const DOWN = ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'];
const UP = ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'];

function unet(blockOut: number[], crossDim: number, sampleSize: number): Record<string, unknown> {
  return {
    _class_name: 'UNet2DConditionModel',
    _diffusers_version: '0.27.2',
    act_fn: 'silu',
    attention_head_dim: 8, // SD 1.x: 8 heads in every block (the name is a misnomer there)
    block_out_channels: blockOut,
    center_input_sample: false,
    cross_attention_dim: crossDim,
    down_block_types: DOWN,
    downsample_padding: 1,
    flip_sin_to_cos: true,
    freq_shift: 0,
    in_channels: 4,
    layers_per_block: 2,
    mid_block_scale_factor: 1,
    norm_eps: 1e-5,
    norm_num_groups: 32,
    out_channels: 4,
    sample_size: sampleSize,
    up_block_types: UP,
  };
}

function vae(blockOut: number[], sampleSize: number): Record<string, unknown> {
  return {
    _class_name: 'AutoencoderKL',
    _diffusers_version: '0.27.2',
    act_fn: 'silu',
    block_out_channels: blockOut,
    down_block_types: Array<string>(blockOut.length).fill('DownEncoderBlock2D'),
    in_channels: 3,
    latent_channels: 4,
    layers_per_block: 2,
    norm_num_groups: 32,
    out_channels: 3,
    sample_size: sampleSize,
    scaling_factor: 0.18215,
    up_block_types: Array<string>(blockOut.length).fill('UpDecoderBlock2D'),
  };
}

function clipText(hidden: number, intermediate: number, layers: number, heads: number): Record<string, unknown> {
  return {
    architectures: ['CLIPTextModel'],
    attention_dropout: 0.0,
    // SD 1.5's file keeps CLIP's legacy ids (bos 0, eos 2): transformers then pools at argmax(ids).
    bos_token_id: 0,
    dropout: 0.0,
    eos_token_id: 2,
    hidden_act: 'quick_gelu',
    hidden_size: hidden,
    initializer_factor: 1.0,
    initializer_range: 0.02,
    intermediate_size: intermediate,
    layer_norm_eps: 1e-5,
    max_position_embeddings: 77,
    model_type: 'clip_text_model',
    num_attention_heads: heads,
    num_hidden_layers: layers,
    pad_token_id: 1,
    projection_dim: hidden,
    torch_dtype: 'float32',
    vocab_size: 49408,
  };
}

/** SD 1.5's scheduler_config.json (PNDM, PLMS steps only). */
const PNDM_SD15: Record<string, unknown> = {
  _class_name: 'PNDMScheduler',
  _diffusers_version: '0.27.2',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  clip_sample: false,
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  timestep_spacing: 'leading',
  trained_betas: null,
};

export const RANDOM_PIPELINE_PRESETS = {
  /**
   * Stable Diffusion 1.5: UNet 320/640/1280/1280 with 8 heads and cross-attention 768 (859.5 M
   * parameters), VAE 128/256/512/512 (83.7 M), CLIP ViT-L/14's text tower (768 wide, 12 layers,
   * 12 heads, quick_gelu; 123 M). 4.3 GB of float32, 2.1 GB as the fp16 variant.
   */
  sd15: { unet: unet([320, 640, 1280, 1280], 768, 64), vae: vae([128, 256, 512, 512], 512), textEncoder: clipText(768, 3072, 12, 12), scheduler: PNDM_SD15 },
  /** The same architecture at toy widths (tiny-sd15's shapes): a few hundred kB, for tests. */
  tiny: { unet: unet([32, 32, 64, 64], 32, 8), vae: vae([32, 32, 64, 64], 64), textEncoder: clipText(32, 37, 3, 4), scheduler: PNDM_SD15 },
} satisfies Record<string, RandomPipelinePreset>;

export type RandomPipelinePresetName = keyof typeof RANDOM_PIPELINE_PRESETS;
