import { gelu } from './activation.js';
import { attentionRef } from './attention.js';
import { layernormRef } from './layernorm.js';

/** Float64 weights of one BERT layer, nn.Linear layout [out, in]. */
export interface LayerRef {
  wq: Float64Array; bq: Float64Array; wk: Float64Array; bk: Float64Array; wv: Float64Array; bv: Float64Array;
  wo: Float64Array; bo: Float64Array; g1: Float64Array; b1n: Float64Array;
  w1: Float64Array; b1: Float64Array; w2: Float64Array; b2: Float64Array; g2: Float64Array; b2n: Float64Array;
}

export function randomLayer(rand: { uniform(n: number, lo?: number, hi?: number): Float64Array }, hidden: number, inter: number): LayerRef {
  const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
  const w = (o: number, i: number) => f32(rand.uniform(o * i, -1 / Math.sqrt(i), 1 / Math.sqrt(i)));
  const b = (n: number) => f32(rand.uniform(n, -0.1, 0.1));
  return {
    wq: w(hidden, hidden), bq: b(hidden), wk: w(hidden, hidden), bk: b(hidden), wv: w(hidden, hidden), bv: b(hidden),
    wo: w(hidden, hidden), bo: b(hidden), g1: f32(rand.uniform(hidden, 0.8, 1.2)), b1n: b(hidden),
    w1: w(inter, hidden), b1: b(inter), w2: w(hidden, inter), b2: b(hidden), g2: f32(rand.uniform(hidden, 0.8, 1.2)), b2n: b(hidden),
  };
}

/** y = x Wᵀ + b over rows of x. */
export function linearRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, inDim: number): Float64Array {
  const outDim = b.length, rows = x.length / inDim;
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) for (let o = 0; o < outDim; o++) {
    let s = b[o]!;
    for (let i = 0; i < inDim; i++) s += x[r * inDim + i]! * w[o * inDim + i]!;
    y[r * outDim + o] = s;
  }
  return y;
}

/** One post-LN BERT layer with head and neuron masks, in float64. */
export function encoderLayerRef(x: ArrayLike<number>, l: LayerRef, batch: number, seq: number, heads: number, eps: number,
  keyBias: ArrayLike<number> | undefined, headMask: ArrayLike<number>, neuronMask: ArrayLike<number>): Float64Array {
  const hidden = l.bo.length, inter = l.b1.length, att = l.bq.length;
  // A physically pruned layer may keep no heads or no neurons: the block adds its output bias only.
  const biasOnly = (b: Float64Array) => Float64Array.from({ length: x.length }, (_, i) => b[i % hidden]!);
  let proj: Float64Array = biasOnly(l.bo);
  if (heads > 0) {
    const q = linearRef(x, l.wq, l.bq, hidden), k = linearRef(x, l.wk, l.bk, hidden), v = linearRef(x, l.wv, l.bv, hidden);
    const ctx = attentionRef(q, k, v, batch, seq, heads, keyBias, headMask).out;
    proj = linearRef(ctx, l.wo, l.bo, att);
  }
  const h1 = layernormRef(proj.map((p, i) => p + x[i]!), l.g1, l.b1n, hidden, eps).y;
  let ffn: Float64Array = biasOnly(l.b2);
  if (inter > 0) {
    const act = linearRef(h1, l.w1, l.b1, hidden).map((p, i) => gelu(p) * neuronMask[i % inter]!);
    ffn = linearRef(act, l.w2, l.b2, inter);
  }
  return layernormRef(ffn.map((p, i) => p + h1[i]!), l.g2, l.b2n, hidden, eps).y;
}
