import { ShapeError } from '../runtime/errors.js';
import { shapeString, type Tensor } from '../runtime/tensor.js';
import { mul } from './elementwise.js';
import { matmul } from './matmul.js';
import { sum } from './reduce.js';
import { permute } from './transpose.js';

/**
 * The normal equations of docs/method.md step 4 for one batch of tokens, without building the
 * least-squares matrix A (rows: token x hidden unit; columns: the kept heads or neurons).
 * Sum them over batches (`add`), then solve (src/linalg/cholesky.ts).
 */
export interface NormalEquations {
  /** [k, k] AᵀA */
  ata: Tensor;
  /** [k] Aᵀb */
  atb: Tensor;
}

/**
 * FFN neurons: column n of A is a_n(t) W2[n, :] for token t, with a = GELU(x W1 + b1) of
 * the kept neurons ([tokens, k]) and w2 their output weights ([k, hidden], rows of nn.Linear's
 * weight transposed). AᵀA = (W2 W2ᵀ) ∘ (aᵀ a) and Aᵀb = Σ_t a_n(t) (W2[n, :] · target(t)).
 */
export function neuronNormalEquations(act: Tensor, w2: Tensor, target: Tensor): NormalEquations {
  const [tokens, k] = act.shape as [number, number];
  if (act.rank !== 2 || w2.rank !== 2 || w2.shape[0] !== k || target.rank !== 2 || target.shape[0] !== tokens || target.shape[1] !== w2.shape[1]) {
    throw new ShapeError(`neuronNormalEquations: expected act [tokens, k], w2 [k, hidden], target [tokens, hidden], got ${shapeString(act.shape)}, ${shapeString(w2.shape)}, ${shapeString(target.shape)}`);
  }
  const xtx = matmul(act, act, { transA: true });
  const wwt = matmul(w2, w2, { transB: true });
  const ata = mul(xtx, wwt);
  const projected = matmul(target, w2, { transB: true }); // [tokens, k]: W2[n, :] · target(t)
  const weighted = mul(act, projected);
  const atb = sum(weighted, 0);
  for (const t of [xtx, wwt, projected, weighted]) t.dispose();
  return { ata, atb };
}

/**
 * Attention heads: column h of A is ctx_h W_o,h, the head's context [tokens, headDim]
 * through its slice of the output projection. `context` is [tokens, heads, headDim] (the
 * unmasked context of each head), `wo` the projection's nn.Linear weight [hidden, heads *
 * headDim]. Builds the [heads, tokens, hidden] projections, so callers bound the tokens of a
 * batch to keep that within one binding.
 */
export function headNormalEquations(context: Tensor, wo: Tensor, target: Tensor): NormalEquations {
  const [tokens, heads, headDim] = context.shape as [number, number, number];
  const hidden = wo.shape[0]!;
  if (context.rank !== 3 || wo.rank !== 2 || wo.shape[1] !== heads * headDim || target.rank !== 2 || target.shape[0] !== tokens || target.shape[1] !== hidden) {
    throw new ShapeError(`headNormalEquations: expected context [tokens, heads, headDim], wo [hidden, heads * headDim], target [tokens, hidden], got ${shapeString(context.shape)}, ${shapeString(wo.shape)}, ${shapeString(target.shape)}`);
  }
  const ctxByHead = permute(context, [1, 0, 2]); // [heads, tokens, headDim]
  const woSplit = wo.reshape([hidden, heads, headDim]);
  const woByHead = permute(woSplit, [1, 0, 2]); // [heads, hidden, headDim]
  const proj = matmul(ctxByHead, woByHead, { transB: true }); // [heads, tokens, hidden]
  const flat = proj.reshape([heads, tokens * hidden]);
  const ata = matmul(flat, flat, { transB: true });
  const targetCol = target.reshape([tokens * hidden, 1]);
  const atbCol = matmul(flat, targetCol);
  const atb = atbCol.reshape([heads]);
  for (const t of [ctxByHead, woSplit, woByHead, proj, flat, targetCol, atbCol]) t.dispose();
  return { ata, atb };
}
