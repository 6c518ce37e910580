// A plain-loop float64 UNet2DConditionModel forward for the generalisation tests, written from
// diffusers 0.27's Python (unet_2d_condition.py, unet_2d_blocks.py, transformer_2d.py, attention.py,
// resnet.py, embeddings.py) and reading the raw config.json itself — it shares no code with the
// graph builders or the ONNX lowering, so configs the fixtures do not cover are still checked.
import type { Tensor } from '../../src/core/tensor.js';

interface T {
  shape: number[];
  data: Float64Array;
}

const make = (shape: number[], fill?: (i: number) => number): T => {
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  if (fill) for (let i = 0; i < data.length; i++) data[i] = fill(i);
  return { shape, data };
};
const map = (x: T, f: (v: number, i: number) => number): T => make([...x.shape], (i) => f(x.data[i], i));
const add = (a: T, b: T): T => map(a, (v, i) => v + b.data[i]);
const silu = (x: T): T => map(x, (v) => v / (1 + Math.exp(-v)));

function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 4.5) return Math.sign(x); // 1 − erf(4.5) < 2e-10
  let term = ax;
  let sum = ax;
  for (let n = 1; n < 200; n++) {
    term *= (-ax * ax) / n;
    sum += term / (2 * n + 1);
    if (Math.abs(term) < 1e-18) break;
  }
  return (Math.sign(x) * 2 * sum) / Math.sqrt(Math.PI);
}

function conv(x: T, w: T, b: T, stride: number, pads: [number, number, number, number]): T {
  const [n, c, h, wd] = x.shape;
  const [o, , kh, kw] = w.shape;
  const oh = Math.floor((h + pads[0] + pads[2] - kh) / stride) + 1;
  const ow = Math.floor((wd + pads[1] + pads[3] - kw) / stride) + 1;
  const out = make([n, o, oh, ow]);
  for (let bi = 0; bi < n; bi++) for (let oc = 0; oc < o; oc++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    let acc = b.data[oc];
    for (let ci = 0; ci < c; ci++) for (let ky = 0; ky < kh; ky++) {
      const iy = y * stride - pads[0] + ky;
      if (iy < 0 || iy >= h) continue;
      for (let kx = 0; kx < kw; kx++) {
        const ix = xx * stride - pads[1] + kx;
        if (ix >= 0 && ix < wd) acc += x.data[((bi * c + ci) * h + iy) * wd + ix] * w.data[((oc * c + ci) * kh + ky) * kw + kx];
      }
    }
    out.data[((bi * o + oc) * oh + y) * ow + xx] = acc;
  }
  return out;
}

function groupNorm(x: T, w: T, b: T, groups: number, eps: number): T {
  const [n, c] = x.shape;
  const hw = x.data.length / (n * c);
  const per = (c / groups) * hw;
  const out = make([...x.shape]);
  for (let bi = 0; bi < n; bi++) for (let g = 0; g < groups; g++) {
    const start = (bi * c + g * (c / groups)) * hw;
    let mean = 0;
    for (let i = 0; i < per; i++) mean += x.data[start + i] / per;
    let v = 0;
    for (let i = 0; i < per; i++) v += (x.data[start + i] - mean) ** 2 / per;
    for (let i = 0; i < per; i++) {
      const ch = g * (c / groups) + Math.floor(i / hw);
      out.data[start + i] = ((x.data[start + i] - mean) / Math.sqrt(v + eps)) * w.data[ch] + b.data[ch];
    }
  }
  return out;
}

function layerNorm(x: T, w: T, b: T, eps: number): T {
  const d = x.shape[x.shape.length - 1];
  const out = make([...x.shape]);
  for (let r = 0; r < x.data.length / d; r++) {
    const row = x.data.subarray(r * d, (r + 1) * d);
    const mean = row.reduce((s, v) => s + v, 0) / d;
    const v = row.reduce((s, u) => s + (u - mean) ** 2, 0) / d;
    for (let i = 0; i < d; i++) out.data[r * d + i] = ((row[i] - mean) / Math.sqrt(v + eps)) * w.data[i] + b.data[i];
  }
  return out;
}

function linear(x: T, w: T, b?: T): T {
  const [o, k] = w.shape;
  const rows = x.data.length / k;
  const out = make([...x.shape.slice(0, -1), o]);
  for (let r = 0; r < rows; r++) for (let j = 0; j < o; j++) {
    let acc = b ? b.data[j] : 0;
    for (let i = 0; i < k; i++) acc += x.data[r * k + i] * w.data[j * k + i];
    out.data[r * o + j] = acc;
  }
  return out;
}

/** softmax(q·kᵀ · d^-0.5)·v per head; q [B, N, H·d], k/v [B, M, H·d]. */
function attention(q: T, k: T, v: T, heads: number): T {
  const [bn, n, inner] = q.shape;
  const m = k.shape[1];
  const d = inner / heads;
  const out = make([bn, n, inner]);
  const s = new Float64Array(m);
  for (let b = 0; b < bn; b++) for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < m; j++) {
      let dot = 0;
      for (let e = 0; e < d; e++) dot += q.data[(b * n + i) * inner + h * d + e] * k.data[(b * m + j) * inner + h * d + e];
      s[j] = dot / Math.sqrt(d);
      max = Math.max(max, s[j]);
    }
    let z = 0;
    for (let j = 0; j < m; j++) z += (s[j] = Math.exp(s[j] - max));
    for (let e = 0; e < d; e++) {
      let acc = 0;
      for (let j = 0; j < m; j++) acc += (s[j] / z) * v.data[(b * m + j) * inner + h * d + e];
      out.data[(b * n + i) * inner + h * d + e] = acc;
    }
  }
  return out;
}

/** [B, C, h, w] ↔ [B, h·w, C]. */
function toTokens(x: T): T {
  const [b, c, h, w] = x.shape;
  return make([b, h * w, c], (i) => {
    const ch = i % c;
    const p = Math.floor(i / c) % (h * w);
    const bi = Math.floor(i / (c * h * w));
    return x.data[(bi * c + ch) * h * w + p];
  });
}
function toMap(x: T, h: number, w: number): T {
  const [b, , c] = x.shape;
  return make([b, c, h, w], (i) => {
    const p = i % (h * w);
    const ch = Math.floor(i / (h * w)) % c;
    const bi = Math.floor(i / (c * h * w));
    return x.data[(bi * h * w + p) * c + ch];
  });
}

function catChannels(a: T, b: T): T {
  const [n, ca, h, w] = a.shape;
  const cb = b.shape[1];
  const hw = h * w;
  return make([n, ca + cb, h, w], (i) => {
    const p = i % hw;
    const ch = Math.floor(i / hw) % (ca + cb);
    const bi = Math.floor(i / (hw * (ca + cb)));
    return ch < ca ? a.data[(bi * ca + ch) * hw + p] : b.data[(bi * cb + ch - ca) * hw + p];
  });
}

/** F.interpolate(mode="nearest"), to a size: src = min(floor(dst · float32(in/out)), in − 1). */
function nearest(x: T, oh: number, ow: number): T {
  const [n, c, h, w] = x.shape;
  const src = (d: number, i: number, o: number) => Math.min(Math.floor(Math.fround(d * Math.fround(i / o))), i - 1);
  return make([n, c, oh, ow], (idx) => {
    const xx = idx % ow;
    const y = Math.floor(idx / ow) % oh;
    const nc = Math.floor(idx / (ow * oh));
    return x.data[(nc * h + src(y, h, oh)) * w + src(xx, w, ow)];
  });
}

const list = (v: unknown, n: number): number[] => (Array.isArray(v) ? (v as number[]) : Array<number>(n).fill(v as number));

/** out = unet(sample, t, ehs, timestep_cond=cond).sample in float64. `raw` is the config.json object. */
export function referenceUNet(raw: Record<string, any>, weights: ReadonlyMap<string, Tensor>, sample: Tensor, timesteps: readonly number[], ehs: Tensor, cond?: Tensor): Float64Array {
  const P = (key: string): T => {
    const t = weights.get(key);
    if (!t) throw new Error(`reference: no weight ${key}`);
    return { shape: [...t.shape], data: Float64Array.from(t.toFloat32().data) };
  };
  const n = raw.block_out_channels.length;
  const C: number[] = raw.block_out_channels;
  const heads = list(raw.num_attention_heads ?? raw.attention_head_dim, n); // attention_head_dim is the head count
  const lpb = list(raw.layers_per_block, n);
  const depth = list(raw.transformer_layers_per_block ?? 1, n);
  const groups: number = raw.norm_num_groups;
  const eps: number = raw.norm_eps;
  const context: T = { shape: [...ehs.shape], data: Float64Array.from(ehs.toFloat32().data) };
  const B = sample.shape[0];

  // time_proj: float32 frequencies as torch computes them, then everything in float64.
  const half = Math.floor(C[0] / 2);
  const freq = Array.from({ length: half }, (_, i) => Math.fround(Math.exp(Math.fround(Math.fround(Math.fround(-Math.log(10000)) * i) / (half - (raw.freq_shift ?? 0))))));
  const tproj = make([B, C[0]], (idx) => {
    const b = Math.floor(idx / C[0]);
    const j = idx % C[0];
    if (j >= 2 * half) return 0;
    const first = j < half;
    const a = Math.fround(timesteps[b]) * freq[j % half];
    const cosFirst = raw.flip_sin_to_cos ?? true;
    return first === cosFirst ? Math.cos(a) : Math.sin(a);
  });
  // TimestepEmbedding with a condition: sample + cond_proj(condition) (a Linear without bias) before linear_1.
  const condDim: number | null = raw.time_cond_proj_dim ?? null;
  const timeIn = cond && condDim !== null ? add(tproj, linear({ shape: [...cond.shape], data: Float64Array.from(cond.toFloat32().data) }, P('time_embedding.cond_proj.weight'))) : tproj;
  const temb = linear(silu(linear(timeIn, P('time_embedding.linear_1.weight'), P('time_embedding.linear_1.bias'))), P('time_embedding.linear_2.weight'), P('time_embedding.linear_2.bias'));

  const resnet = (p: string, x: T, scale = 1): T => {
    let h = conv(silu(groupNorm(x, P(`${p}.norm1.weight`), P(`${p}.norm1.bias`), groups, eps)), P(`${p}.conv1.weight`), P(`${p}.conv1.bias`), 1, [1, 1, 1, 1]);
    const t = linear(silu(temb), P(`${p}.time_emb_proj.weight`), P(`${p}.time_emb_proj.bias`));
    const hw = h.shape[2] * h.shape[3];
    h = map(h, (v, i) => v + t.data[Math.floor(i / hw)]);
    h = conv(silu(groupNorm(h, P(`${p}.norm2.weight`), P(`${p}.norm2.bias`), groups, eps)), P(`${p}.conv2.weight`), P(`${p}.conv2.bias`), 1, [1, 1, 1, 1]);
    const sc = weights.has(`${p}.conv_shortcut.weight`) ? conv(x, P(`${p}.conv_shortcut.weight`), P(`${p}.conv_shortcut.bias`), 1, [0, 0, 0, 0]) : x;
    return map(add(sc, h), (v) => v / scale);
  };
  const transformer = (p: string, x: T, nHeads: number, layers: number): T => {
    const [, , h, w] = x.shape;
    let s = groupNorm(x, P(`${p}.norm.weight`), P(`${p}.norm.bias`), groups, 1e-6);
    const proj = (name: string, v: T) => (raw.use_linear_projection ? linear(v, P(`${name}.weight`), P(`${name}.bias`)) : v);
    s = raw.use_linear_projection ? proj(`${p}.proj_in`, toTokens(s)) : toTokens(conv(s, P(`${p}.proj_in.weight`), P(`${p}.proj_in.bias`), 1, [0, 0, 0, 0]));
    for (let l = 0; l < layers; l++) {
      const q = `${p}.transformer_blocks.${l}`;
      const ln = (name: string, v: T) => layerNorm(v, P(`${q}.${name}.weight`), P(`${q}.${name}.bias`), 1e-5);
      const attn = (a: string, v: T, ctx: T) => linear(
        attention(linear(v, P(`${q}.${a}.to_q.weight`)), linear(ctx, P(`${q}.${a}.to_k.weight`)), linear(ctx, P(`${q}.${a}.to_v.weight`)), nHeads),
        P(`${q}.${a}.to_out.0.weight`), P(`${q}.${a}.to_out.0.bias`));
      const n1 = ln('norm1', s);
      s = add(attn('attn1', n1, n1), s);
      s = add(attn('attn2', ln('norm2', s), context), s);
      const g = linear(ln('norm3', s), P(`${q}.ff.net.0.proj.weight`), P(`${q}.ff.net.0.proj.bias`));
      const inner = g.shape[g.shape.length - 1] / 2;
      const gated = make([...g.shape.slice(0, -1), inner], (i) => {
        const r = Math.floor(i / inner);
        const j = i % inner;
        const gate = g.data[r * 2 * inner + inner + j];
        return g.data[r * 2 * inner + j] * 0.5 * gate * (1 + erf(gate / Math.SQRT2));
      });
      s = add(linear(gated, P(`${q}.ff.net.2.weight`), P(`${q}.ff.net.2.bias`)), s);
    }
    const out = raw.use_linear_projection
      ? toMap(proj(`${p}.proj_out`, s), h, w)
      : conv(toMap(s, h, w), P(`${p}.proj_out.weight`), P(`${p}.proj_out.bias`), 1, [0, 0, 0, 0]);
    return add(out, x);
  };

  let x: T = { shape: [...sample.shape], data: Float64Array.from(sample.toFloat32().data) };
  if (raw.center_input_sample) x = map(x, (v) => 2 * v - 1);
  const kIn: number = raw.conv_in_kernel ?? 3;
  const pIn = (kIn - 1) / 2;
  x = conv(x, P('conv_in.weight'), P('conv_in.bias'), 1, [pIn, pIn, pIn, pIn]);
  const skips: T[] = [x];
  for (let i = 0; i < n; i++) {
    const cross = raw.down_block_types[i] === 'CrossAttnDownBlock2D';
    for (let j = 0; j < lpb[i]; j++) {
      x = resnet(`down_blocks.${i}.resnets.${j}`, x);
      if (cross) x = transformer(`down_blocks.${i}.attentions.${j}`, x, heads[i], depth[i]);
      skips.push(x);
    }
    if (i < n - 1) {
      const pad = (raw.downsample_padding ?? 1) === 1 ? ([1, 1, 1, 1] as const) : ([0, 0, 1, 1] as const);
      x = conv(x, P(`down_blocks.${i}.downsamplers.0.conv.weight`), P(`down_blocks.${i}.downsamplers.0.conv.bias`), 2, [...pad]);
      skips.push(x);
    }
  }
  const midScale: number = raw.mid_block_scale_factor ?? 1;
  x = resnet('mid_block.resnets.0', x, midScale);
  x = transformer('mid_block.attentions.0', x, heads[n - 1], depth[n - 1]);
  x = resnet('mid_block.resnets.1', x, midScale);
  const forwardSize = sample.shape.slice(2).some((d) => d % 2 ** (n - 1) !== 0);
  for (let i = 0; i < n; i++) {
    const level = n - 1 - i;
    for (let j = 0; j < lpb[level] + 1; j++) {
      x = resnet(`up_blocks.${i}.resnets.${j}`, catChannels(x, skips.pop()!));
      if (raw.up_block_types[i] === 'CrossAttnUpBlock2D') x = transformer(`up_blocks.${i}.attentions.${j}`, x, heads[level], depth[level]);
    }
    if (i < n - 1) {
      const next = skips[skips.length - 1];
      x = forwardSize ? nearest(x, next.shape[2], next.shape[3]) : nearest(x, 2 * x.shape[2], 2 * x.shape[3]);
      x = conv(x, P(`up_blocks.${i}.upsamplers.0.conv.weight`), P(`up_blocks.${i}.upsamplers.0.conv.bias`), 1, [1, 1, 1, 1]);
    }
  }
  x = silu(groupNorm(x, P('conv_norm_out.weight'), P('conv_norm_out.bias'), groups, eps));
  const kOut: number = raw.conv_out_kernel ?? 3;
  const pOut = (kOut - 1) / 2;
  return conv(x, P('conv_out.weight'), P('conv_out.bias'), 1, [pOut, pOut, pOut, pOut]).data;
}
