import { ShapeError } from '../runtime/errors.js';
import { shapeString, type Tensor } from '../runtime/tensor.js';
import { applyMask, maskGradient } from './mask.js';
import { asHeads, headsMatmul } from './heads.js';
import { softmaxBackward, softmaxForward } from './softmax.js';

/**
 * What the backward needs from the forward: q, k, v and the heads' context, all [batch,
 * seq, hidden] as the linear layers write them (token-major: head h is columns h·d ..
 * (h+1)·d - 1), and the probabilities [batch, heads, seq, seq].
 */
export interface AttentionSaved {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  probs: Tensor;
  /** The heads' context before the head mask. */
  context: Tensor;
  heads: number;
}

export interface AttentionGrads {
  /** [batch, seq, hidden] each. */
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
}

/** [batch, seq, hidden] as [batch, seq, heads, headDim], the head mask's axis 2 (a view). */
const byHead = (x: Tensor, heads: number): Tensor => {
  const [batch, seq, hidden] = x.shape as [number, number, number];
  return x.reshape([batch, seq, heads, hidden / heads]);
};

/**
 * Multi-head self-attention from projected q, k, v ([batch, seq, hidden]):
 * softmax(q kᵀ / sqrt(headDim) + keyBias) v per head, each head's context multiplied by
 * headMask[h] (docs/method.md, "Where the masks sit"), in [batch, seq, hidden] ready for the
 * output projection. The heads are read and written where the projections put them
 * (src/ops/heads.ts): no copy into a per-head layout and back. `keyBias` is [batch, seq]:
 * 0 for tokens, the float32 minimum for padding.
 */
export function attentionForward(
  q: Tensor, k: Tensor, v: Tensor, heads: number, { keyBias, headMask }: { keyBias?: Tensor; headMask?: Tensor } = {},
): { out: Tensor; saved: AttentionSaved } {
  if (q.rank !== 3 || shapeString(q.shape) !== shapeString(k.shape) || shapeString(q.shape) !== shapeString(v.shape)) {
    throw new ShapeError(`attention: q, k, v must share one [batch, seq, hidden] shape, got ${q}, ${k}, ${v}`);
  }
  const hidden = q.shape[2]!;
  if (!Number.isInteger(heads) || heads < 1 || hidden % heads !== 0) throw new ShapeError(`attention: hidden size ${hidden} is not divisible into ${heads} heads`);
  if (headMask && headMask.size !== heads) throw new ShapeError(`attention: head mask ${shapeString(headMask.shape)} does not have ${heads} values`);
  return q.runtime.tidy(() => {
    const scores = headsMatmul(asHeads(q, heads), asHeads(k, heads), { transB: true });
    const probs = softmaxForward(scores, { scale: 1 / Math.sqrt(hidden / heads), ...(keyBias ? { bias: keyBias } : {}) });
    const context = headsMatmul(probs, asHeads(v, heads), { merge: true });
    const out = headMask ? applyMask(byHead(context, heads), headMask, 2).reshape(q.shape) : context;
    return { out, saved: { q, k, v, probs, context, heads } };
  });
}

/**
 * Backward of attentionForward given dOut [batch, seq, hidden]. When `headMaskGrad` is
 * given ([batch, layers, heads]), writes this layer's per-example head-mask gradient into it:
 * Σ over tokens and head dims of context ⊙ dOut (docs/method.md step 1).
 */
export function attentionBackward(
  saved: AttentionSaved, dOut: Tensor,
  { headMask, headMaskGrad, layer = 0 }: { headMask?: Tensor; headMaskGrad?: Tensor; layer?: number } = {},
): AttentionGrads {
  const { q, k, v, probs, context, heads } = saved;
  const headDim = q.shape[2]! / heads;
  return dOut.runtime.tidy(() => {
    if (headMaskGrad) maskGradient(byHead(context, heads), byHead(dOut, heads), 2, headMaskGrad, layer);
    const dContext = asHeads(headMask ? applyMask(byHead(dOut, heads), headMask, 2).reshape(dOut.shape) : dOut, heads);
    const dProbs = headsMatmul(dContext, asHeads(v, heads), { transB: true });
    const dv = headsMatmul(probs, dContext, { transA: true, merge: true });
    const dScores = softmaxBackward(probs, dProbs, { scale: 1 / Math.sqrt(headDim) });
    const dq = headsMatmul(dScores, asHeads(k, heads), { merge: true });
    const dk = headsMatmul(dScores, asHeads(q, heads), { transA: true, merge: true });
    return { dq, dk, dv };
  });
}

/** Frees what the forward saved (q, k and v are the caller's inputs and stay). */
export function disposeAttention(saved: AttentionSaved): void {
  for (const t of new Set([saved.probs, saved.context])) t.dispose();
}
