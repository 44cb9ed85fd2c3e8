/**
 * How closely a pruned model follows the full one on the same examples, from their logits
 * ([examples, classes], or one value per example for regression): the share of examples
 * whose predicted class agrees, and the mean KL divergence KL(full ‖ pruned) of their
 * softmax distributions (nats). For regression: the mean squared difference of the outputs.
 * A very redundant model keeps its accuracy under heavy pruning; these say whether it still
 * computes the same function.
 */
export function fidelity(full: ArrayLike<number>, pruned: ArrayLike<number>, classes: number): { agreement: number; meanKL: number } | { meanSquaredDifference: number } {
  if (full.length !== pruned.length || full.length % classes !== 0) throw new Error(`fidelity: ${full.length} and ${pruned.length} logits do not make rows of ${classes}`);
  const n = full.length / classes;
  if (classes === 1) {
    let s = 0;
    for (let i = 0; i < n; i++) s += (full[i]! - pruned[i]!) ** 2;
    return { meanSquaredDifference: s / n };
  }
  let agree = 0, kl = 0;
  const logSoftmax = (z: ArrayLike<number>, row: number) => {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, z[row * classes + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(z[row * classes + c]! - max);
    const lse = max + Math.log(sum);
    return Array.from({ length: classes }, (_, c) => z[row * classes + c]! - lse);
  };
  for (let i = 0; i < n; i++) {
    const p = logSoftmax(full, i), q = logSoftmax(pruned, i);
    const argmax = (v: number[]) => v.indexOf(Math.max(...v));
    if (argmax(p) === argmax(q)) agree++;
    for (let c = 0; c < classes; c++) kl += Math.exp(p[c]!) * (p[c]! - q[c]!);
  }
  return { agreement: agree / n, meanKL: kl / n };
}
