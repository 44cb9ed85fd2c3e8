/** Float64 references for the losses, forward and backward, with PyTorch's semantics. */

/** The class a label picks, or null for an ignored example (span rule: clamp to [0, cols], cols ignored). */
function targetOf(raw: number, cols: number, span: boolean): number | null {
  if (span) {
    const t = Math.min(Math.max(raw, 0), cols);
    return t === cols ? null : t;
  }
  if (!(raw >= 0 && raw < cols)) throw new Error(`reference: label ${raw} outside [0, ${cols})`);
  return raw;
}

function rowSoftmax(x: ArrayLike<number>, cols: number, b: number): { p: Float64Array; lse: number } {
  let m = -Infinity;
  for (let c = 0; c < cols; c++) m = Math.max(m, x[b * cols + c]!);
  let s = 0;
  for (let c = 0; c < cols; c++) s += Math.exp(x[b * cols + c]! - m);
  const p = Float64Array.from({ length: cols }, (_, c) => Math.exp(x[b * cols + c]! - m) / s);
  return { p, lse: m + Math.log(s) };
}

/** Per-example cross-entropy (0 where ignored), and whether each example counts. */
export function crossEntropyRowsRef(logits: ArrayLike<number>, labels: ArrayLike<number>, cols: number, span = false): { losses: Float64Array; valid: boolean[] } {
  const batch = labels.length;
  const losses = new Float64Array(batch), valid: boolean[] = [];
  for (let b = 0; b < batch; b++) {
    const t = targetOf(labels[b]!, cols, span);
    valid.push(t !== null);
    if (t !== null) losses[b] = rowSoftmax(logits, cols, b).lse - logits[b * cols + t]!;
  }
  return { losses, valid };
}

export function crossEntropyRef(logits: ArrayLike<number>, labels: ArrayLike<number>, cols: number): { loss: number; losses: Float64Array } {
  const { losses } = crossEntropyRowsRef(logits, labels, cols);
  return { loss: losses.reduce((p, v) => p + v, 0) / labels.length, losses };
}

/**
 * (softmax - onehot) * weight[b] per row (0 in ignored rows), and the scale of its float32
 * error: weight (p + onehot), as p carries the relative error of exp and of the row sum.
 */
function crossEntropyGradRef(logits: ArrayLike<number>, labels: ArrayLike<number>, cols: number, span: boolean, weight: (b: number) => number): { grad: Float64Array; scale: Float64Array } {
  const grad = new Float64Array(logits.length), scale = new Float64Array(logits.length);
  for (let b = 0; b < labels.length; b++) {
    const t = targetOf(labels[b]!, cols, span);
    if (t === null) continue;
    const { p } = rowSoftmax(logits, cols, b);
    for (let c = 0; c < cols; c++) {
      const onehot = c === t ? 1 : 0;
      grad[b * cols + c] = (p[c]! - onehot) * weight(b);
      scale[b * cols + c] = (p[c]! + onehot) * weight(b);
    }
  }
  return { grad, scale };
}

export function crossEntropyBackwardRef(logits: ArrayLike<number>, labels: ArrayLike<number>, cols: number, { perExample = false } = {}): { grad: Float64Array; scale: Float64Array } {
  return crossEntropyGradRef(logits, labels, cols, false, () => (perExample ? 1 : 1 / labels.length));
}

export function mseRef(pred: ArrayLike<number>, target: ArrayLike<number>): { loss: number; losses: Float64Array } {
  const losses = Float64Array.from(target, (t, b) => (pred[b]! - t) ** 2);
  return { loss: losses.reduce((p, v) => p + v, 0) / target.length, losses };
}

export function mseBackwardRef(pred: ArrayLike<number>, target: ArrayLike<number>, { perExample = false } = {}): Float64Array {
  const w = perExample ? 2 : 2 / target.length;
  return Float64Array.from(target, (t, b) => w * (pred[b]! - t));
}

/**
 * BertForQuestionAnswering's loss: (CE over starts in the sequence + CE over ends in the
 * sequence) / 2, each a mean over its own examples not ignored (NaN when none are).
 */
export function spanLossRef(
  start: ArrayLike<number>, end: ArrayLike<number>, startPositions: ArrayLike<number>, endPositions: ArrayLike<number>, seq: number,
): { loss: number; losses: Float64Array } {
  const s = crossEntropyRowsRef(start, startPositions, seq, true), e = crossEntropyRowsRef(end, endPositions, seq, true);
  const mean = (r: { losses: Float64Array; valid: boolean[] }) => {
    const n = r.valid.filter(Boolean).length;
    return n === 0 ? NaN : r.losses.reduce((p, v) => p + v, 0) / n;
  };
  return { loss: (mean(s) + mean(e)) / 2, losses: Float64Array.from(s.losses, (v, b) => (v + e.losses[b]!) / 2) };
}

export function spanLossBackwardRef(
  start: ArrayLike<number>, end: ArrayLike<number>, startPositions: ArrayLike<number>, endPositions: ArrayLike<number>, seq: number,
  { perExample = false } = {},
): { dStart: { grad: Float64Array; scale: Float64Array }; dEnd: { grad: Float64Array; scale: Float64Array } } {
  const half = (logits: ArrayLike<number>, positions: ArrayLike<number>) => {
    const n = crossEntropyRowsRef(logits, positions, seq, true).valid.filter(Boolean).length;
    return crossEntropyGradRef(logits, positions, seq, true, () => (perExample ? 0.5 : 0.5 / n));
  };
  return { dStart: half(start, startPositions), dEnd: half(end, endPositions) };
}
