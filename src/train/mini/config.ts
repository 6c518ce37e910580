// latentlab-mini's architecture: Stable Diffusion 1.x's three networks and folder layout at toy
// widths, sized so the whole recipe (train-mini.ts) trains on a 2-core CPU in about an hour.
//
//   image     32×32 RGB (Fashion-MNIST's 28×28 padded by 2, tinted: data.ts)
//   VAE       AutoencoderKL 32/64/64, 1 resnet per block: 32×32×3 → 8×8×4 latents (f = 4)
//   text      CLIPTextModel 64 wide, 3 layers, 4 heads, 77 positions, CLIP's real BPE tokenizer
//   UNet      UNet2DConditionModel 48/96/96 on 8×8×4 latents, cross-attention to the text (64 wide)
//   schedule  SD's: scaled_linear betas 0.00085 → 0.012 over 1000 timesteps, ε-prediction
//
// The configs are diffusers' own config.json contents, so the folder loads like any SD 1.x model.

export const MINI_RESOLUTION = 32;

export const MINI_VAE_CONFIG = {
  _class_name: 'AutoencoderKL',
  _diffusers_version: '0.27.2',
  act_fn: 'silu',
  block_out_channels: [32, 64, 64],
  down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D'],
  in_channels: 3,
  latent_channels: 4,
  layers_per_block: 1,
  norm_num_groups: 16,
  out_channels: 3,
  sample_size: MINI_RESOLUTION,
  /** Replaced by 1/std of the trained encoder's latents (as SD's 0.18215 was measured). */
  scaling_factor: 1,
  up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'],
};

export const MINI_TEXT_ENCODER_CONFIG = {
  architectures: ['CLIPTextModel'],
  attention_dropout: 0.0,
  bos_token_id: 49406,
  dropout: 0.0,
  eos_token_id: 49407,
  hidden_act: 'quick_gelu',
  hidden_size: 64,
  initializer_factor: 1.0,
  initializer_range: 0.02,
  intermediate_size: 256,
  layer_norm_eps: 1e-5,
  max_position_embeddings: 77,
  model_type: 'clip_text_model',
  num_attention_heads: 4,
  num_hidden_layers: 3,
  pad_token_id: 49407,
  projection_dim: 64,
  torch_dtype: 'float32',
  vocab_size: 49408,
};

export const MINI_UNET_CONFIG = {
  _class_name: 'UNet2DConditionModel',
  _diffusers_version: '0.27.2',
  act_fn: 'silu',
  attention_head_dim: 8,
  block_out_channels: [48, 96, 96],
  center_input_sample: false,
  cross_attention_dim: 64,
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  downsample_padding: 1,
  flip_sin_to_cos: true,
  freq_shift: 0,
  in_channels: 4,
  layers_per_block: 1,
  mid_block_scale_factor: 1,
  norm_eps: 1e-5,
  norm_num_groups: 16,
  out_channels: 4,
  sample_size: MINI_RESOLUTION / 4,
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
};

/** SD 1.5's training schedule; DPM-Solver++ (2M) as the folder's default sampler (20 steps are plenty). */
export const MINI_SCHEDULER_CONFIG = {
  _class_name: 'DPMSolverMultistepScheduler',
  _diffusers_version: '0.27.2',
  algorithm_type: 'dpmsolver++',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  final_sigmas_type: 'zero',
  lower_order_final: true,
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  solver_order: 2,
  solver_type: 'midpoint',
  steps_offset: 1,
  timestep_spacing: 'leading',
  trained_betas: null,
  use_karras_sigmas: false,
};

export const MINI_MODEL_INDEX = {
  _class_name: 'StableDiffusionPipeline',
  _diffusers_version: '0.27.2',
  feature_extractor: [null, null],
  requires_safety_checker: false,
  safety_checker: [null, null],
  scheduler: ['diffusers', 'DPMSolverMultistepScheduler'],
  text_encoder: ['transformers', 'CLIPTextModel'],
  tokenizer: ['transformers', 'CLIPTokenizer'],
  unet: ['diffusers', 'UNet2DConditionModel'],
  vae: ['diffusers', 'AutoencoderKL'],
};

/** The garment classifier (classifier.ts): a small CNN on 32×32 RGB, 10 Fashion-MNIST classes. */
export const MINI_CLASSIFIER_CONFIG = {
  _class_name: 'GarmentClassifier',
  in_channels: 3,
  /** Channels of the four 3×3 convs; every conv but the first halves the size (32 → 16 → 8 → 4). */
  block_out_channels: [32, 64, 64, 128],
  norm_num_groups: 8,
  /** Width of the feature layer on the flattened 4×4 map (the Fréchet distance's space). */
  hidden_size: 128,
  num_classes: 10,
  sample_size: MINI_RESOLUTION,
  class_names: ['t-shirt', 'trousers', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot'],
};
