import { solveDamped } from '../../src/linalg/cholesky.js';
import { gelu } from './activation.js';
import { attentionRef } from './attention.js';
import { encoderLayerRef, linearRef, type LayerRef } from './encoder.js';
import { normalRef } from './gram.js';
import { layernormRef } from './layernorm.js';
import { maskBias } from './softmax.js';

/**
 * Mask tuning (docs/method.md step 4) in float64 from its definition, to check tuneMasks:
 * each sub-layer's least-squares matrix A is built column by column (a head's context
 * through its slice of W_o, a neuron's activation times its W2 column), rows of padding
 * dropped (and all but each sequence's first token in the last FFN with `firstTokenOnly`),
 * then (AᵀA + damping I) δ = Aᵀb − AᵀA·1, m = 1 + δ. The teacher is the unpruned model;
 * layer 0's attention is not tuned. `x0` is the embeddings' output [batch·seq·hidden] of
 * each batch, `masks` the binary masks.
 */
export function tuneRef(layers: LayerRef[], heads: number, eps: number, x0: Float64Array[], attention: number[][], batchSeq: [number, number][],
  masks: { head: number[][]; neuron: number[][] }, { damping = 1, firstTokenOnly = false } = {}) {
  const hidden = layers[0]!.bo.length;
  const head = masks.head.map((l) => [...l]), neuron = masks.neuron.map((l) => [...l]);
  let xt: Float64Array[] = x0.map((x) => Float64Array.from(x)), xs: Float64Array[] = x0.map((x) => Float64Array.from(x));
  const bias = (mask: number[]) => Array.from(maskBias(mask));
  const ones = (n: number) => new Array(n).fill(1);
  const attentionParts = (x: Float64Array, l: LayerRef, b: number, s: number, keyBias: number[], hm: number[]) => {
    const q = linearRef(x, l.wq, l.bq, hidden), k = linearRef(x, l.wk, l.bk, hidden), v = linearRef(x, l.wv, l.bv, hidden);
    const ctx = attentionRef(q, k, v, b, s, heads, keyBias, hm).out;
    const res1 = linearRef(ctx, l.wo, l.bo, hidden).map((p, i) => p + x[i]!);
    return { ctx, res1, h1: layernormRef(res1, l.g1, l.b1n, hidden, eps).y };
  };
  const solve = (A: number[][], target: number[], k: number) => {
    const { ata, atb } = normalRef(Float64Array.from(A.flat()), Float64Array.from(target), k);
    const rhs = Float64Array.from({ length: k }, (_, i) => atb[i]! - ata.slice(i * k, (i + 1) * k).reduce((a, v) => a + v, 0));
    return Array.from(solveDamped(ata, rhs, k, damping), (x) => 1 + x);
  };
  layers.forEach((l, li) => {
    const kept = head[li]!.flatMap((m, h) => (m ? [h] : []));
    if (li > 0 && kept.length) {
      const A: number[][] = [], target: number[] = [];
      batchSeq.forEach(([b, s], bi) => {
        const kb = bias(attention[bi]!);
        const teacher = attentionParts(xt[bi]!, l, b, s, kb, ones(heads));
        const cols = kept.map((h) => {
          const only = Array.from({ length: heads }, (_, j) => (j === h ? 1 : 0));
          return linearRef(attentionParts(xs[bi]!, l, b, s, kb, only).ctx, l.wo, new Float64Array(hidden), hidden);
        });
        for (let t = 0; t < b * s; t++) {
          if (!attention[bi]![t]) continue;
          for (let u = 0; u < hidden; u++) {
            A.push(cols.map((c) => c[t * hidden + u]!));
            target.push(teacher.res1[t * hidden + u]! - l.bo[u]! - xs[bi]![t * hidden + u]!);
          }
        }
      });
      solve(A, target, kept.length).forEach((v, i) => { head[li]![kept[i]!] = v; });
    }
    const keptN = neuron[li]!.flatMap((m, n) => (m ? [n] : []));
    const inter = l.b1.length;
    if (keptN.length) {
      const A: number[][] = [], target: number[] = [];
      batchSeq.forEach(([b, s], bi) => {
        const kb = bias(attention[bi]!);
        const t1 = attentionParts(xt[bi]!, l, b, s, kb, ones(heads)).h1;
        const tAct = linearRef(t1, l.w1, l.b1, hidden).map(gelu);
        const res2t = linearRef(tAct, l.w2, l.b2, inter).map((p, i) => p + t1[i]!);
        const s1 = attentionParts(xs[bi]!, l, b, s, kb, head[li]!).h1;
        const act = linearRef(s1, l.w1, l.b1, hidden).map(gelu);
        for (let t = 0; t < b * s; t++) {
          if (!attention[bi]![t] || (firstTokenOnly && li === layers.length - 1 && t % s !== 0)) continue;
          for (let u = 0; u < hidden; u++) {
            A.push(keptN.map((n) => act[t * inter + n]! * l.w2[u * inter + n]!));
            target.push(res2t[t * hidden + u]! - l.b2[u]! - s1[t * hidden + u]!);
          }
        }
      });
      solve(A, target, keptN.length).forEach((v, i) => { neuron[li]![keptN[i]!] = v; });
    }
    xt = xt.map((x, bi) => encoderLayerRef(x, l, batchSeq[bi]![0], batchSeq[bi]![1], heads, eps, bias(attention[bi]!), ones(heads), ones(inter)));
    xs = xs.map((x, bi) => encoderLayerRef(x, l, batchSeq[bi]![0], batchSeq[bi]![1], heads, eps, bias(attention[bi]!), head[li]!, neuron[li]!));
  });
  return { head, neuron };
}
