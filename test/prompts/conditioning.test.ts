// A1111's conditioning on the tiny SD 1.5 model, against an independent computation: the test
// lays out the chunk ids itself, runs the text encoder on them, and applies A1111's formula
//   z' = z · m,  z″ = z' · mean(z) / mean(z')
// by hand in float64, then compares with what encodeScheduledPrompt / PromptConditioning give.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/core/tensor.js';
import { CLIPTextModel } from '../../src/models/clip-text-model.js';
import { encodePrompt } from '../../src/pipelines/encode-prompt.js';
import { encodePromptConditioning, encodeScheduledPrompt } from '../../src/pipelines/prompt-conditioning.js';
import { tokenizePromptChunks } from '../../src/prompts/index.js';
import { CLIPTokenizer } from '../../src/tokenizers/index.js';
import { diff } from '../helpers/compare.js';
import { fixturePath } from '../helpers/fixtures.js';

const MODEL = fixturePath('pipelines', 'tiny-sd15');
let tok: CLIPTokenizer;
let te: CLIPTextModel;
const BOS = 49406;
const EOS = 49407;

beforeAll(async () => {
  tok = await CLIPTokenizer.fromPretrained(MODEL, { subfolder: 'tokenizer' });
  te = await CLIPTextModel.fromPretrained(MODEL, { subfolder: 'text_encoder' });
});
afterAll(() => te.release());

/** max |a − b| ≤ abs over all values (a Tensor's data or plain numbers). */
function expectNear(label: string, actual: Tensor<'float32'> | ArrayLike<number>, expected: Tensor<'float32'> | ArrayLike<number>, abs: number): void {
  const a = actual instanceof Tensor ? actual.data : actual;
  const e = expected instanceof Tensor ? expected.data : expected;
  expect(a.length, `${label}: size`).toBe(e.length);
  const d = diff(a, e);
  if (d.maxAbs > abs) expect.fail(`${label}: max |Δ| ${d.maxAbs.toExponential(3)} at ${d.at} (tolerance ${abs})`);
}

/** bos, tokens, eos, eos-padding to 77 (SD 1.x pads with eos). */
const chunk = (ids: number[]): number[] => [BOS, ...ids, ...Array<number>(76 - ids.length).fill(EOS)];

/** The text encoder on hand-made chunks [T][77] → [T, 77, H]. */
async function encodeRows(rows: number[][]): Promise<Tensor<'float32'>> {
  return (await te.forward(Tensor.int64([rows.length, 77], rows.flat()))).lastHiddenState;
}

/** A1111's emphasis, written out in float64: multiply each token's row, restore the batch mean. */
function a1111ByHand(z: Tensor<'float32'>, mults: number[][]): Float64Array {
  const h = z.shape[2];
  const m = mults.flat();
  const out = new Float64Array(z.size);
  let before = 0;
  let after = 0;
  for (let k = 0; k < z.size; k++) {
    out[k] = z.data[k] * m[Math.floor(k / h)];
    before += z.data[k];
    after += out[k];
  }
  return out.map((v) => v * (before / after));
}

/** Rows [T, 77, H] of several chunk encodings joined along the sequence, for text t. */
function joinChunks(parts: Float64Array[], t: number, h: number): number[] {
  const per = 77 * h;
  return parts.flatMap((p) => Array.from(p.subarray(t * per, (t + 1) * per)));
}

describe('A1111 conditioning (tiny-sd15)', () => {
  it('gives plain prompts of ≤ 75 tokens bit for bit the embeddings of diffusers\' encode_prompt', async () => {
    for (const prompt of ['a photograph of an astronaut riding a horse', '', 'A picture of a puppy: a dog, small | cute']) {
      const a = await encodeScheduledPrompt(tok, te, prompt, { steps: 20 });
      const d = await encodePrompt(tok, te, [prompt]);
      expect(a.embeds.length).toBe(1);
      expect(Array.from(a.embeds[0].data)).toEqual(Array.from(d.data));
    }
  });

  it('splits a 150-token comma-separated prompt into 3 chunks, and weights them as A1111\'s formula says', async () => {
    // 25 phrases "red blue green red blue," (6 tokens each) = 150 tokens. A full chunk would end 3
    // tokens after a comma, so A1111 moves those 3 on: chunks of 72, 72 and 6 tokens.
    const text = 'red blue green red blue';
    const phrase = tok.encode(`${text},`);
    expect(phrase.length).toBe(6);
    const phrases = Array.from({ length: 25 }, (_, i) => (i === 3 ? `(${text}:1.3),` : i === 14 ? `[${text}],` : `${text},`));
    const prompt = phrases.join(' ');
    const plainIds = Array<number[]>(25).fill(phrase).flat();
    expect(plainIds.length).toBe(150);
    const { chunks, tokenCount } = tokenizePromptChunks(tok, prompt);
    expect(chunks.length).toBe(3);
    expect(tokenCount).toBe(75 + 75 + 6);
    const pieces = [plainIds.slice(0, 72), plainIds.slice(72, 144), plainIds.slice(144)];
    chunks.forEach((c, i) => expect(c.tokens).toEqual(chunk(pieces[i])));

    // Multipliers by hand: phrase 3 is tokens 18..22 (×1.3, not its comma), phrase 14 is tokens 84..88 (÷1.1).
    const w = plainIds.map((_, i) => (i >= 18 && i < 23 ? 1.3 : i >= 84 && i < 89 ? 1 / 1.1 : 1));
    const mults = [w.slice(0, 72), w.slice(72, 144), w.slice(144)].map((m) => [1, ...m, ...Array<number>(76 - m.length).fill(1)]);
    chunks.forEach((c, i) => expect(c.multipliers).toEqual(mults[i]));

    const byHand = await Promise.all(pieces.map(async (p, i) => a1111ByHand(await encodeRows([chunk(p)]), [mults[i]])));
    const got = await encodeScheduledPrompt(tok, te, prompt, { steps: 20 });
    expect(got.embeds[0].shape).toEqual([1, 231, 32]);
    expectNear('3 weighted chunks', got.embeds[0], joinChunks(byHand, 0, 32), 1e-5);
    // And the weights did something: chunk 0 differs from the unweighted encoding.
    const unweighted = await encodeRows([chunk(pieces[0])]);
    expect(Math.max(...Array.from(unweighted.data, (v, k) => Math.abs(v - got.embeds[0].data[k])))).toBeGreaterThan(1e-3);
  });

  it('starts a new chunk at BREAK and treats a 150-token prompt without commas as 2 chunks', () => {
    const broken = tokenizePromptChunks(tok, 'red blue BREAK green');
    expect(broken.chunks.map((c) => c.tokens.slice(0, 4))).toEqual([[BOS, ...tok.encode('red blue'), EOS], [BOS, ...tok.encode('green'), EOS, EOS]]);
    const long = tokenizePromptChunks(tok, Array(75).fill('red blue').join(' '));
    expect(long.chunks.length).toBe(2);
  });

  it('encodes the texts of a prompt\'s schedule together: one mean per chunk over all of them', async () => {
    const prompt = '[a red cat:a blue dog:0.5] (in the snow:1.4)';
    const got = await encodeScheduledPrompt(tok, te, prompt, { steps: 10 });
    expect(got.schedule).toEqual([[5, 'a red cat (in the snow:1.4)'], [10, 'a blue dog (in the snow:1.4)']]);
    const ids = got.schedule.map(([, text]) => [...tok.encode(text.split(' (')[0]), ...tok.encode('in the snow')]);
    const mults = ids.map((r) => [1, ...r.map((_, i) => (i >= 3 ? 1.4 : 1)), ...Array<number>(76 - r.length).fill(1)]);
    const byHand = a1111ByHand(await encodeRows(ids.map(chunk)), mults);
    got.embeds.forEach((e, t) => expectNear(`schedule text ${t}`, e, joinChunks([byHand], t, 32), 1e-5));
  });

  it('pads the negative prompt to the prompt\'s chunks with the empty prompt, and picks schedule entries per step', async () => {
    const long = Array(40).fill('red blue').join(' '); // 80 tokens: 2 chunks
    const cond = await encodePromptConditioning(tok, te, { prompts: [`${long} [cat:dog:2]`], negativePrompts: [''], steps: 4, numImagesPerPrompt: 2 });
    expect(cond.sequenceLength).toBe(154);
    expect(cond.isStatic).toBe(false);
    const empty = await encodeRows([chunk([])]);
    const neg = cond.at(0).data.subarray(0, 154 * 32);
    expectNear('negative chunk 1', neg.subarray(0, 77 * 32), empty, 0);
    expectNear('negative padding chunk', neg.subarray(77 * 32), empty, 0);
    const pos = (i: number): Float32Array => cond.at(i).data.subarray(2 * 154 * 32, 3 * 154 * 32);
    expect(cond.at(0).shape).toEqual([4, 154, 32]);
    expect(pos(0)).toEqual(pos(2)); // steps 0..2 use "cat" (A1111 counts from 0 against end 2)
    expect(pos(3)).not.toEqual(pos(2));
    expect(cond.at(3)).toBe(cond.at(9)); // cached; past the end the last entry holds
  });

  it('weights toward the empty prompt in comfy mode: z′ = e + (z − e)·w', async () => {
    const got = await encodeScheduledPrompt(tok, te, 'a (red:1.5) cat', { steps: 1, syntax: 'comfy' });
    const ids = tok.encode('a red cat');
    const z = await encodeRows([chunk(ids)]);
    const e = await encodeRows([chunk([])]);
    const expected = Array.from(z.data, (v, k) => (Math.floor(k / 32) === 2 ? e.data[k] + (v - e.data[k]) * 1.5 : v));
    expectNear('comfy', got.embeds[0], expected, 1e-6);
  });
});
