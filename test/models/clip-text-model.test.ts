// CLIPTextModel against transformers / OpenAI CLIP outputs (fixture README §4, tolerances §13).
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { CLIPTextModel } from '../../src/models/clip-text-model.js';
import { expectClose } from '../helpers/compare.js';
import { fixturePath, loadTensors } from '../helpers/fixtures.js';

const LAST = { abs: 2e-5 };
const HIDDEN = { abs: 5e-6 };

function add(a: Tensor<'float32'>, b: Tensor<'float32'>): Tensor<'float32'> {
  // b [S, H] broadcast over a [B, S, H]
  const out = a.clone();
  for (let i = 0; i < out.size; i++) out.data[i] += b.data[i % b.size];
  return out;
}

for (const model of ['tiny-sd15', 'tiny-sd2']) {
  describe.each(['fused', 'plain'] as const)(`CLIPTextModel ${model} (%s attention)`, (attention) => {
    it('matches every hidden state, last_hidden_state, pooler_output and clip skip', async () => {
      const ref = await loadTensors('reference', model, 'text_encoder.safetensors');
      const te = await CLIPTextModel.fromPretrained(fixturePath('pipelines', model), { attention });
      const ids = ref.get('input_ids')!;
      const out = await te.forward(ids, { outputHiddenStates: true });
      expectClose('last_hidden_state', out.lastHiddenState, ref.get('last_hidden_state')!, LAST);
      expectClose('pooler_output', out.poolerOutput!, ref.get('pooler_output')!, LAST);
      expect(out.hiddenStates!.length).toBe(te.config.num_hidden_layers + 1);
      out.hiddenStates!.forEach((h, i) => expectClose(`hidden_states.${i}`, h, ref.get(`hidden_states.${i}`)!, HIDDEN));
      const skip = await te.forward(ids, { clipSkip: 1 });
      expectClose('clip_skip_1', skip.lastHiddenState, ref.get('clip_skip_1')!, LAST);
      await te.release();
    });

    it('reproduces the puppy → cat swap through the input-embeddings path', async () => {
      const ref = await loadTensors('reference', model, 'text_encoder.safetensors');
      const te = await CLIPTextModel.fromPretrained(fixturePath('pipelines', model), { attention });
      const { tokenEmbedding, positionEmbedding } = te.textModel.embeddings;
      expectClose('token_embeddings', await tokenEmbedding.forward(ref.get('input_ids')!), ref.get('token_embeddings')!, { abs: 0 });
      const pos = await positionEmbedding.weight();
      expectClose('position_embeddings', pos, ref.get('position_embeddings')!, { abs: 0 });

      const ids = ref.get('swap_input_ids')! as Tensor<'int64'>;
      const tok = await tokenEmbedding.forward(ids);
      const table = await tokenEmbedding.weight();
      const H = te.config.hidden_size;
      const at = Array.from(ids.data).indexOf(6829n); // puppy</w>
      tok.data.set(table.data.subarray(2368 * H, 2369 * H), at * H); // cat</w>
      expectClose('swap_token_embeddings', tok, ref.get('swap_token_embeddings')!, { abs: 0 });
      const embeds = add(tok, pos);
      expectClose('swap_input_embeddings', embeds, ref.get('swap_input_embeddings')!, { abs: 1e-7 });
      expectClose('swap_last_hidden_state', await te.getOutputEmbeds(embeds), ref.get('swap_last_hidden_state')!, LAST);
      await te.release();
    });
  });
}
