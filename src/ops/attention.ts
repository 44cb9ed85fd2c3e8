import { ShapeError } from '../runtime/errors.js';
import { shapeString, type Tensor } from '../runtime/tensor.js';
import { applyMask, maskGradient } from './mask.js';
import { matmul } from './matmul.js';
import { softmaxBackward, softmaxForward } from './softmax.js';
import { permute } from './transpose.js';

/** What the backward needs from the forward; all [batch, heads, seq, headDim] except probs. */
export interface AttentionSaved {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** [batch, heads, seq, seq] */
  probs: Tensor;
  /** Each head's context before the head mask. */
  context: Tensor;
  heads: number;
}

export interface AttentionGrads {
  /** [batch, seq, hidden] each. */
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
}

const toHeads = (x: Tensor, heads: number): Tensor => {
  const [batch, seq, hidden] = x.shape as [number, number, number];
  const split = x.reshape([batch, seq, heads, hidden / heads]);
  const out = permute(split, [0, 2, 1, 3]);
  split.dispose();
  return out;
};

const fromHeads = (x: Tensor): Tensor => {
  const [batch, heads, seq, headDim] = x.shape as [number, number, number, number];
  const merged = permute(x, [0, 2, 1, 3]);
  const out = merged.reshape([batch, seq, heads * headDim]);
  merged.dispose();
  return out;
};

/**
 * Multi-head self-attention from projected q, k, v ([batch, seq, hidden]):
 * softmax(q kᵀ / sqrt(headDim) + keyBias) v per head, each head's context multiplied by
 * headMask[h] (docs/method.md, "Where the masks sit"), heads merged back to [batch, seq, hidden]
 * ready for the output projection. `keyBias` is [batch, seq]: 0 for tokens, the float32
 * minimum for padding.
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
  const qh = toHeads(q, heads), kh = toHeads(k, heads), vh = toHeads(v, heads);
  const scores = matmul(qh, kh, { transB: true });
  const probs = softmaxForward(scores, { scale: 1 / Math.sqrt(hidden / heads), ...(keyBias ? { bias: keyBias } : {}) });
  scores.dispose();
  const context = matmul(probs, vh);
  const masked = headMask ? applyMask(context, headMask, 1) : context;
  const out = fromHeads(masked);
  if (masked !== context) masked.dispose();
  return { out, saved: { q: qh, k: kh, v: vh, probs, context, heads } };
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
  const headDim = q.shape[3]!;
  const dMasked = toHeads(dOut, heads);
  if (headMaskGrad) maskGradient(context, dMasked, 1, headMaskGrad, layer);
  const dContext = headMask ? applyMask(dMasked, headMask, 1) : dMasked;
  const dProbs = matmul(dContext, v, { transB: true });
  const dvh = matmul(probs, dContext, { transA: true });
  const dScores = softmaxBackward(probs, dProbs, { scale: 1 / Math.sqrt(headDim) });
  const dqh = matmul(dScores, k);
  const dkh = matmul(dScores, q, { transA: true });
  for (const t of new Set([dMasked, dContext, dProbs, dScores])) t.dispose();
  const grads = { dq: fromHeads(dqh), dk: fromHeads(dkh), dv: fromHeads(dvh) };
  for (const t of [dqh, dkh, dvh]) t.dispose();
  return grads;
}

export function disposeAttention(saved: AttentionSaved): void {
  for (const t of [saved.q, saved.k, saved.v, saved.probs, saved.context]) t.dispose();
}
