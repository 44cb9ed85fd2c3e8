import { softmaxBackwardRef, softmaxRef } from './softmax.js';

/** Float64 multi-head attention on [batch, seq, hidden] q, k, v, with key bias [batch, seq] and a head mask. */
export function attentionRef(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, batch: number, seq: number, heads: number,
  keyBias: ArrayLike<number> | undefined, headMask: ArrayLike<number>) {
  const hidden = q.length / (batch * seq), d = hidden / heads, scale = 1 / Math.sqrt(d);
  const at = (x: ArrayLike<number>, b: number, s: number, h: number, j: number) => x[(b * seq + s) * hidden + h * d + j]!;
  const out = new Float64Array(q.length);
  const probs: Float64Array[] = [], contexts: Float64Array[] = [];
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const scores = new Float64Array(seq * seq);
      for (let i = 0; i < seq; i++) for (let j = 0; j < seq; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += at(q, b, i, h, c) * at(k, b, j, h, c);
        scores[i * seq + j] = s;
      }
      const p = softmaxRef(scores, seq, scale, keyBias ? Array.from({ length: seq }, (_, j) => keyBias[b * seq + j]!) : undefined);
      const ctx = new Float64Array(seq * d);
      for (let i = 0; i < seq; i++) for (let c = 0; c < d; c++) {
        let s = 0;
        for (let j = 0; j < seq; j++) s += p[i * seq + j]! * at(v, b, j, h, c);
        ctx[i * d + c] = s;
        out[(b * seq + i) * hidden + h * d + c] = s * headMask[h]!;
      }
      probs.push(p);
      contexts.push(ctx);
    }
  }
  return { out, probs, contexts };
}

/** Backward of attentionRef: dq, dk, dv and the per-example head-mask gradient [batch, heads]. */
export function attentionBackwardRef(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, batch: number, seq: number, heads: number,
  keyBias: ArrayLike<number> | undefined, headMask: ArrayLike<number>, dOut: ArrayLike<number>) {
  const hidden = q.length / (batch * seq), d = hidden / heads, scale = 1 / Math.sqrt(d);
  const { probs, contexts } = attentionRef(q, k, v, batch, seq, heads, keyBias, headMask);
  const idx = (b: number, s: number, h: number, j: number) => (b * seq + s) * hidden + h * d + j;
  const dq = new Float64Array(q.length), dk = new Float64Array(q.length), dv = new Float64Array(q.length);
  const dHead = new Float64Array(batch * heads), dHeadScale = new Float64Array(batch * heads);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const p = probs[b * heads + h]!, ctx = contexts[b * heads + h]!;
      const dCtx = new Float64Array(seq * d);
      for (let i = 0; i < seq; i++) for (let c = 0; c < d; c++) {
        const g = dOut[idx(b, i, h, c)]!;
        dHead[b * heads + h] += g * ctx[i * d + c]!;
        dHeadScale[b * heads + h] += Math.abs(g * ctx[i * d + c]!);
        dCtx[i * d + c] = g * headMask[h]!;
      }
      const dP = new Float64Array(seq * seq);
      for (let i = 0; i < seq; i++) for (let j = 0; j < seq; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += dCtx[i * d + c]! * v[idx(b, j, h, c)]!;
        dP[i * seq + j] = s;
        for (let c = 0; c < d; c++) dv[idx(b, j, h, c)] += p[i * seq + j]! * dCtx[i * d + c]!;
      }
      const dS = softmaxBackwardRef(p, dP, seq, scale);
      for (let i = 0; i < seq; i++) for (let j = 0; j < seq; j++) {
        for (let c = 0; c < d; c++) {
          dq[idx(b, i, h, c)] += dS[i * seq + j]! * k[idx(b, j, h, c)]!;
          dk[idx(b, j, h, c)] += dS[i * seq + j]! * q[idx(b, i, h, c)]!;
        }
      }
    }
  }
  return { dq, dk, dv, dHead, dHeadScale };
}
