/** Float64 references for mask application, mask gradients and the Fisher diagonal. */

/** x viewed as [outer, groups, inner] times mask[group]. */
export function applyMaskRef(x: ArrayLike<number>, mask: ArrayLike<number>, inner: number): Float64Array {
  return Float64Array.from(x, (v, i) => v * mask[Math.floor(i / inner) % mask.length]!);
}

/** [batch, groups]: Σ a ⊙ g over the entries of each example's group j, a viewed as [batch, pre, groups, inner]. */
export function maskGradientRef(a: ArrayLike<number>, g: ArrayLike<number>, batch: number, groups: number, inner: number): { grad: Float64Array; scale: Float64Array } {
  const grad = new Float64Array(batch * groups), scale = new Float64Array(batch * groups);
  const perExample = a.length / batch;
  for (let i = 0; i < a.length; i++) {
    const b = Math.floor(i / perExample), j = Math.floor(i / inner) % groups;
    grad[b * groups + j] += a[i]! * g[i]!;
    scale[b * groups + j] += Math.abs(a[i]! * g[i]!);
  }
  return { grad, scale };
}

export function fisherRef(grads: ArrayLike<number>, batch: number, perBatch: boolean): Float64Array {
  const n = grads.length / batch;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let b = 0; b < batch; b++) s += perBatch ? grads[b * n + j]! : grads[b * n + j]! ** 2;
    out[j] = perBatch ? s * s : s;
  }
  return out;
}
