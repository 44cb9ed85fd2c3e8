import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rearrangeByGram } from '../../src/prune/rearrange.js';
import { Random } from '../helpers/random.js';

const rand = new Random();

/** ‖Σ_{j∈S} g_j‖² from the gradient vectors themselves ([samples, k], row-major). */
function lossOf(g: Float64Array, samples: number, k: number, set: number[]): number {
  let total = 0;
  for (let s = 0; s < samples; s++) {
    let v = 0;
    for (const j of set) v += g[s * k + j]!;
    total += v * v;
  }
  return total;
}

function gramOf(g: Float64Array, samples: number, k: number): Float64Array {
  const G = new Float64Array(k * k);
  for (let s = 0; s < samples; s++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) G[i * k + j] += g[s * k + i]! * g[s * k + j]!;
  return G;
}

/** docs/method.md step 3 as written, on the gradient vectors: the same choice, step by step. */
function naive(g: Float64Array, samples: number, k: number, importance: Float64Array, pruned: number): Set<number> {
  const order = [...importance.keys()].sort((a, b) => importance[a]! - importance[b]! || a - b);
  const S = new Set(order.slice(0, pruned));
  if (pruned === 0) return S;
  for (const c of order.slice(pruned)) {
    S.add(c);
    let drop = -1, best = Infinity;
    for (let x = 0; x < k; x++) {
      if (!S.has(x)) continue;
      const l = lossOf(g, samples, k, [...S].filter((j) => j !== x));
      if (l < best) { best = l; drop = x; }
    }
    S.delete(drop);
  }
  return S;
}

const r = suite('rearrangeByGram');

r('picks what the step-by-step method on the gradients picks, and never raises the loss', () => {
  for (const [samples, k, pruned] of [[20, 12, 5], [8, 30, 17], [50, 9, 1], [16, 10, 9]] as const) {
    // Correlated gradients (a shared component), so that which ones are pruned together matters.
    const shared = rand.uniform(samples), weight = rand.uniform(k);
    const g = rand.uniform(samples * k).map((v, i) => v + shared[Math.floor(i / k)]! * weight[i % k]!);
    const importance = Float64Array.from({ length: k }, (_, j) => lossOf(g, samples, k, [j]));
    const out = rearrangeByGram(gramOf(g, samples, k), k, importance, pruned);
    const prunedSet = [...out.mask.keys()].filter((j) => out.mask[j] === 0);
    assert.is(prunedSet.length, pruned, 'keeps the count');
    assert.equal(prunedSet, [...naive(g, samples, k, importance, pruned)].sort((a, b) => a - b));
    const initial = [...importance.keys()].sort((a, b) => importance[a]! - importance[b]! || a - b).slice(0, pruned);
    assert.ok(Math.abs(out.lossBefore - lossOf(g, samples, k, initial)) < 1e-9 * (1 + out.lossBefore), 'loss before');
    assert.ok(Math.abs(out.lossAfter - lossOf(g, samples, k, prunedSet)) < 1e-9 * (1 + out.lossAfter), 'loss after');
    assert.ok(out.lossAfter <= out.lossBefore * (1 + 1e-12), `loss ${out.lossBefore} → ${out.lossAfter}`);
  }
});

r('pruning none or all leaves nothing to choose', () => {
  const k = 4, G = gramOf(rand.uniform(3 * k), 3, k), imp = rand.uniform(k, 0, 1);
  assert.equal(Array.from(rearrangeByGram(G, k, imp, 0).mask), [1, 1, 1, 1]);
  assert.equal(Array.from(rearrangeByGram(G, k, imp, 4).mask), [0, 0, 0, 0]);
});

r('sizes that disagree, and counts out of range, are refused', () => {
  assert.throws(() => rearrangeByGram(new Float64Array(8), 3, new Float64Array(3), 1), /expected a 3 x 3 Gram matrix and 3 importances, got 8 and 3/);
  assert.throws(() => rearrangeByGram(new Float64Array(9), 3, new Float64Array(3), 4), /cannot prune 4 of 3 groups/);
});

r.run();
