import { WgpruneError } from '../runtime/errors.js';

/**
 * The mask rearrangement of docs/method.md step 3, for one layer: which `pruned` of its `k`
 * groups (heads or neurons) to prune, keeping the count the search chose. The loss of
 * pruning a set S is taken as ‖Σ_{j∈S} g_j‖², g_j group j's gradients over the samples; with
 * the Gram matrix G = gᵀg (k x k, row-major: `gram[i * k + j]` = g_i · g_j) that is
 * Σ_{i,j∈S} G_ij. Start from the `pruned` least important groups; then, for each other group
 * in increasing order of importance, add it to S and drop the member of S whose removal
 * leaves the smallest loss. Since dropping the one just added restores the previous S, the
 * loss never grows.
 *
 * With G given, each step is O(k) (the column sums over S are kept up to date), so the whole
 * layer is O(k²) on the CPU; G itself (k² · samples multiply-adds) is a matmul for the device.
 * Returns the mask, 1 kept and 0 pruned, and the loss of the pruned set before and after.
 */
export function rearrangeByGram(gram: ArrayLike<number>, k: number, importance: ArrayLike<number>, pruned: number):
  { mask: Uint8Array; lossBefore: number; lossAfter: number } {
  if (gram.length !== k * k || importance.length !== k) {
    throw new WgpruneError(`rearrangeByGram: expected a ${k} x ${k} Gram matrix and ${k} importances, got ${gram.length} and ${importance.length}`);
  }
  if (!(Number.isInteger(pruned) && pruned >= 0 && pruned <= k)) throw new WgpruneError(`rearrangeByGram: cannot prune ${pruned} of ${k} groups`);
  // Least important first; equal importances by index.
  const order = Uint32Array.from({ length: k }, (_, i) => i).sort((a, b) => importance[a]! - importance[b]! || a - b);
  const inS = new Uint8Array(k);
  // colSum[x] = Σ_{j∈S} G[j][x]; loss = Σ_{i,j∈S} G_ij.
  const colSum = new Float64Array(k);
  let loss = 0;
  const add = (c: number) => {
    loss += 2 * colSum[c]! + gram[c * k + c]!;
    for (let x = 0; x < k; x++) colSum[x]! += gram[c * k + x]!;
    inS[c] = 1;
  };
  const remove = (c: number) => {
    for (let x = 0; x < k; x++) colSum[x]! -= gram[c * k + x]!;
    loss -= 2 * colSum[c]! + gram[c * k + c]!;
    inS[c] = 0;
  };
  for (let i = 0; i < pruned; i++) add(order[i]!);
  const lossBefore = loss;
  if (pruned > 0) {
    for (let i = pruned; i < k; i++) {
      add(order[i]!);
      // Loss without x: loss - 2 colSum[x] + G[x][x] (colSum[x] counts x itself).
      let drop = -1, best = Infinity;
      for (let x = 0; x < k; x++) {
        if (!inS[x]) continue;
        const without = -2 * colSum[x]! + gram[x * k + x]!;
        if (without < best) { best = without; drop = x; }
      }
      remove(drop);
    }
  }
  const mask = new Uint8Array(k);
  for (let x = 0; x < k; x++) mask[x] = inS[x] ? 0 : 1;
  return { mask, lossBefore, lossAfter: loss };
}
