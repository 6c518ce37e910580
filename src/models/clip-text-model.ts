// CLIPTextModel: the text encoder of Stable Diffusion, mirroring transformers' CLIPTextModel and
// the pieces the fast.ai deep-dive notebook pulls out of it:
//
//   const ids = tokenizer.call(prompt, {padding: 'max_length', truncation: true}).inputIds
//   const { lastHiddenState } = await textEncoder.forward(ids)                   // [B, 77, H]
//   const tokEmb = await textEncoder.textModel.embeddings.tokenEmbedding.forward(ids)   // token_emb_layer(ids)
//   const posEmb = await textEncoder.textModel.embeddings.positionEmbedding.weight()    // [77, H]
//   const out = await textEncoder.getOutputEmbeds(add(tokEmb, posEmb))          // the "puppy → cat" experiment

import type { WeightData } from '../core/external.js';
import type { Graph } from '../graph/graph.js';
import type { CompiledGraph, CompileOptions } from '../graph/runtime.js';
import { LatentlabError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { WeightSource } from '../weights/index.js';
import { type LoraPlan, withLoraPlan } from '../nn/lora.js';
import { buildCLIPTextGraph, CLIPTextConfig, parseCLIPTextConfig } from './clip-text-graph.js';
import { loraSessions, type LoraUse } from './lora.js';
import { bindGraphWeights, FromPretrainedOptions, type LoadedComponent, loadComponent, SessionCache } from './pretrained.js';

export interface CLIPTextModelOutput {
  /** final_layer_norm of the last layer (or of an earlier one with clipSkip): the prompt embedding, [B, S, H]. */
  lastHiddenState: Tensor<'float32'>;
  /** last_hidden_state at each sequence's first eos token, [B, H] (only for id inputs). */
  poolerOutput?: Tensor<'float32'>;
  /** Embeddings and the output of every layer, before the final LayerNorm: L + 1 tensors [B, S, H]. */
  hiddenStates?: Tensor<'float32'>[];
}

export interface ForwardOptions {
  outputHiddenStates?: boolean;
  clipSkip?: number;
}

/**
 * An nn.Embedding whose table stays in the checkpoint until it is first needed. The token table
 * can have rows appended after the checkpoint's (textual inversion), kept apart in memory.
 */
export class Embedding {
  private table?: Promise<Tensor<'float32'>>;

  constructor(
    private readonly weights: WeightSource,
    readonly key: string,
    private readonly stored: number,
    readonly embeddingDim: number,
    /** Rows after the checkpoint's [n, embeddingDim], if any. */
    private readonly added: () => Tensor<'float32'> | undefined = () => undefined,
  ) {}

  /** Rows in the table: the checkpoint's plus the added ones. */
  get numEmbeddings(): number {
    return this.stored + (this.added()?.shape[0] ?? 0);
  }

  /** The table [numEmbeddings, embeddingDim] as float32 (the checkpoint's part read once; added rows appended). */
  async weight(): Promise<Tensor<'float32'>> {
    this.table ??= this.weights.read(this.key).then((t) => t.toFloat32());
    const added = this.added();
    return added ? Tensor.cat0([await this.table, added]) : this.table;
  }

  /** Row lookup: ids [...] → [..., embeddingDim]. */
  async forward(ids: Tensor | readonly (readonly number[])[]): Promise<Tensor<'float32'>> {
    const t = idsTensor(ids);
    this.table ??= this.weights.read(this.key).then((w) => w.toFloat32());
    const table = await this.table;
    const added = this.added();
    const d = this.embeddingDim;
    const out = new Tensor('float32', [...t.shape, d]);
    t.data.forEach((id, i) => {
      const row = Number(id);
      if (!(row >= 0 && row < this.numEmbeddings)) {
        throw new LatentlabError('MODEL_INPUT', `${this.key}: id ${row} is outside the table (0..${this.numEmbeddings - 1})`, { key: this.key });
      }
      const [src, r] = row < this.stored ? [table, row] : [added!, row - this.stored];
      out.data.set(src.data.subarray(r * d, r * d + d), i * d);
    });
    return out;
  }
}

function idsTensor(ids: Tensor | readonly (readonly number[])[]): Tensor<'int64'> {
  if (ids instanceof Tensor) {
    if (ids.dtype === 'int64') return ids as Tensor<'int64'>;
    return Tensor.int64(ids.shape, Array.from(ids.data as ArrayLike<number>));
  }
  const len = ids[0]?.length ?? 0;
  if (ids.length === 0 || ids.some((row) => row.length !== len)) {
    throw new LatentlabError('MODEL_INPUT', 'input ids must be a non-empty list of equally long id lists', { hint: 'pad the prompts to one length (the tokenizer does with padding: "max_length")' });
  }
  return Tensor.int64([ids.length, len], ids.flat());
}

export class CLIPTextModel {
  readonly textModel: { embeddings: { tokenEmbedding: Embedding; positionEmbedding: Embedding } };
  private sessions: SessionCache;
  private loraPlan?: LoraPlan;
  /** Token-table rows after the checkpoint's (textual inversion), [n, H]. */
  private addedRows?: Tensor<'float32'>;
  private readonly custom: SessionCache;

  private constructor(
    readonly config: CLIPTextConfig,
    readonly folder: string,
    weights: WeightSource,
    sessions: SessionCache,
  ) {
    const H = config.hidden_size;
    this.textModel = {
      embeddings: {
        tokenEmbedding: new Embedding(weights, 'text_model.embeddings.token_embedding.weight', config.vocab_size, H, () => this.addedRows),
        positionEmbedding: new Embedding(weights, 'text_model.embeddings.position_embedding.weight', config.max_position_embeddings, H),
      },
    };
    this.sessions = sessions;
    this.custom = sessions.forCustomGraphs();
  }

  static async fromPretrained(path: string, options: FromPretrainedOptions = {}): Promise<CLIPTextModel> {
    return CLIPTextModel.fromComponent(await loadComponent(path, 'text_encoder', options), options);
  }

  /** From a config and a weight source (a folder's, or a single-file checkpoint's text-encoder part). */
  static fromComponent({ folder, config: reader, weights }: LoadedComponent, options: CompileOptions = {}): CLIPTextModel {
    const config = parseCLIPTextConfig(reader);
    const probe = buildCLIPTextGraph(config, { batch: 1, seqLen: config.max_position_embeddings, input: 'ids', hiddenStates: false });
    const bound = bindGraphWeights(probe, weights, 'text_encoder');
    return new CLIPTextModel(config, folder, weights, new SessionCache(bound, options));
  }

  /**
   * Appends rows to the token table (transformers' `resize_token_embeddings(len(tokenizer))` plus
   * writing the new rows, as diffusers' load_textual_inversion does): rows [n, H] get ids
   * numEmbeddings, numEmbeddings + 1, ... The checkpoint's table is not copied: the graph
   * concatenates it with the added rows, which are fed as an input.
   */
  addTokenEmbeddings(rows: Tensor): number[] {
    const H = this.config.hidden_size;
    if (rows.rank !== 2 || rows.shape[1] !== H || rows.shape[0] < 1) {
      throw new LatentlabError('MODEL_INPUT', `token embeddings to add have shape [${rows.shape.join(', ')}]; expected [n ≥ 1, ${H}] (hidden_size)`, {
        key: 'rows', hint: 'pass one row of hidden_size values per new token',
      });
    }
    const first = this.textModel.embeddings.tokenEmbedding.numEmbeddings;
    const f32 = rows.dtype === 'float32' ? (rows.clone() as Tensor<'float32'>) : rows.toFloat32();
    this.addedRows = this.addedRows ? Tensor.cat0([this.addedRows, f32]) : f32;
    return Array.from({ length: rows.shape[0] }, (_, i) => first + i);
  }

  /**
   * Overwrites added rows in place of their ids (≥ vocab_size), e.g. with a textual-inversion
   * run's current vectors; rows [ids.length, H].
   */
  setTokenEmbeddings(ids: readonly number[], rows: Tensor<'float32'>): void {
    const H = this.config.hidden_size;
    const V = this.config.vocab_size;
    const added = this.addedRows;
    const bad = ids.find((id) => !added || !Number.isInteger(id) || id < V || id >= V + added.shape[0]);
    if (bad !== undefined || rows.rank !== 2 || rows.shape[0] !== ids.length || rows.shape[1] !== H) {
      throw new LatentlabError('MODEL_INPUT', `setTokenEmbeddings: ${bad !== undefined ? `id ${bad} is not an added token` : `rows have shape [${rows.shape.join(', ')}], expected [${ids.length}, ${H}]`}`, {
        key: 'ids', hint: 'add the tokens first (addTokenEmbeddings / loadTextualInversion); pass one row of hidden_size values per id',
      });
    }
    ids.forEach((id, i) => added!.data.set(rows.data.subarray(i * H, (i + 1) * H), (id - V) * H));
  }

  /** The rows added with addTokenEmbeddings, [n, H] (undefined when there are none). */
  get addedTokenEmbeddings(): Tensor<'float32'> | undefined {
    return this.addedRows;
  }

  /** As UNet2DConditionModel.setLoras, for the text encoder's modules (kohya lora_te_*, PEFT text_encoder.*). */
  async setLoras(uses: readonly LoraUse[]): Promise<number[]> {
    const r = await loraSessions(uses, 'text_encoder', this.custom, this.sessions);
    [this.sessions, this.loraPlan] = [r.sessions, r.plan];
    return r.counts;
  }

  /** Runs the encoder on token ids [B, S] (S ≤ max_position_embeddings). */
  async forward(inputIds: Tensor | readonly (readonly number[])[], options: ForwardOptions = {}): Promise<CLIPTextModelOutput> {
    const ids = idsTensor(inputIds);
    const out = await this.run('ids', ids, options);
    out.poolerOutput = this.pool(ids, out.lastHiddenState);
    return out;
  }

  /** The encoder on ready-made input embeddings [B, S, H] (token + position), as the notebook's get_output_embeds. */
  async getOutputEmbeds(inputEmbeds: Tensor, options: ForwardOptions = {}): Promise<Tensor<'float32'>> {
    return (await this.run('embeds', inputEmbeds, options)).lastHiddenState;
  }

  private async run(input: 'ids' | 'embeds', x: Tensor, o: ForwardOptions): Promise<CLIPTextModelOutput> {
    const c = this.config;
    const expectRank = input === 'ids' ? 2 : 3;
    const seqLen = x.shape[1];
    if (x.rank !== expectRank || seqLen < 1 || seqLen > c.max_position_embeddings || (input === 'embeds' && x.shape[2] !== c.hidden_size)) {
      const want = input === 'ids' ? `[batch, ≤${c.max_position_embeddings}]` : `[batch, ≤${c.max_position_embeddings}, ${c.hidden_size}]`;
      throw new LatentlabError('MODEL_INPUT', `text encoder: ${input === 'ids' ? 'input ids' : 'input embeddings'} have shape [${x.shape.join(', ')}], expected ${want}`);
    }
    const clipSkip = o.clipSkip ?? 0;
    if (!Number.isInteger(clipSkip) || clipSkip < 0 || clipSkip >= c.num_hidden_layers) {
      throw new LatentlabError('MODEL_INPUT', `clipSkip ${clipSkip} must be an integer in 0..${c.num_hidden_layers - 1}`);
    }
    const hiddenStates = o.outputHiddenStates ?? false;
    const added = input === 'ids' ? this.addedRows : undefined;
    const addedTokens = added?.shape[0] ?? 0;
    const key = `${input}:${seqLen}:${hiddenStates}:${clipSkip}:${addedTokens}`;
    const build = () => withLoraPlan(this.loraPlan, () => buildCLIPTextGraph(c, { batch: 'batch', seqLen, input, hiddenStates, clipSkip, addedTokens }));
    const feeds: Record<string, Tensor> = input === 'ids' ? { input_ids: x } : { inputs_embeds: x.dtype === 'float32' ? x : x.toFloat32() };
    if (added) feeds.added_token_embeddings = added;
    const r = await this.sessions.run(key, build, feeds);
    const out: CLIPTextModelOutput = { lastHiddenState: r.last_hidden_state as Tensor<'float32'> };
    if (hiddenStates) {
      out.hiddenStates = Array.from({ length: c.num_hidden_layers - clipSkip + 1 }, (_, i) => r[`hidden_states.${i}`] as Tensor<'float32'>);
    }
    return out;
  }

  /** pooler_output: last_hidden_state at the first eos position of each row (transformers' rule for eos_token_id ≠ 2). */
  private pool(ids: Tensor<'int64'>, last: Tensor<'float32'>): Tensor<'float32'> {
    const [b, s] = ids.shape;
    const h = this.config.hidden_size;
    const out = new Tensor('float32', [b, h]);
    for (let i = 0; i < b; i++) {
      let pos = 0;
      if (this.config.eos_token_id === 2) {
        for (let j = 1; j < s; j++) if (ids.data[i * s + j] > ids.data[i * s + pos]) pos = j; // legacy: argmax(ids)
      } else {
        const at = ids.data.subarray(i * s, (i + 1) * s).indexOf(BigInt(this.config.eos_token_id));
        pos = at < 0 ? s - 1 : at;
      }
      out.data.set(last.data.subarray((i * s + pos) * h, (i * s + pos + 1) * h), i * h);
    }
    return out;
  }


  /**
   * Compiles a graph of your own on this model's weights — e.g. the encoder (buildCLIPTextGraph) plus a loss and its
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
