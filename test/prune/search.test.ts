import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encoderMacs } from '../../src/prune/flops.js';
import { searchByFlops } from '../../src/prune/search.js';
import { Random } from '../helpers/random.js';

const rand = new Random();
const small = { layers: 2, heads: 3, hidden: 12, intermediate: 5, seqLen: 7 };

/** The best total importance over every subset of heads (at least one) and neurons that fits the budget. */
function bruteForce(hi: Float64Array, ni: Float64Array, constraint: number) {
  const budget = constraint * encoderMacs(small);
  let best = -Infinity;
  for (let hs = 1; hs < 1 << hi.length; hs++) {
    let hCount = 0, hScore = 0;
    for (let j = 0; j < hi.length; j++) if (hs & (1 << j)) { hCount++; hScore += hi[j]!; }
    for (let ns = 0; ns < 1 << ni.length; ns++) {
      let nCount = 0, nScore = 0;
      for (let j = 0; j < ni.length; j++) if (ns & (1 << j)) { nCount++; nScore += ni[j]!; }
      if (encoderMacs(small, hCount, nCount) <= budget) best = Math.max(best, hScore + nScore);
    }
  }
  return best;
}

const s = suite('searchByFlops');

s('finds the best subsets that fit, as a search over every subset does', () => {
  for (let trial = 0; trial < 6; trial++) {
    const hi = rand.uniform(6, 0, 1), ni = rand.uniform(10, 0, 1).map((v) => v / 10);
    for (const c of [0.15, 0.4, 0.6, 0.9]) {
      const r = searchByFlops(hi, ni, small, c);
      const want = bruteForce(hi, ni, c);
      assert.ok(Math.abs(r.score - want) < 1e-12, `constraint ${c}: score ${r.score}, best ${want}`);
      assert.ok(r.macs <= c * encoderMacs(small), `constraint ${c}: ${r.macs} MACs over the budget`);
      assert.is(r.fraction, r.macs / encoderMacs(small));
    }
  }
});

s('the masks keep exactly the top-ranked heads and neurons, layer-major', () => {
  const hi = Float64Array.of(5, 1, 4, 0.5, 3, 2), ni = Float64Array.of(0.1, 0.9, 0.3, 0.8, 0.2, 0.7, 0.4, 0.6, 0.05, 0.5);
  const r = searchByFlops(hi, ni, small, 0.5);
  const kept = (m: Uint8Array[]) => m.flatMap((row) => Array.from(row)).reduce((a, b) => a + b, 0);
  assert.is(kept(r.headMask), r.heads);
  assert.is(kept(r.neuronMask), r.neurons);
  const flat = r.headMask.flatMap((row) => Array.from(row));
  const threshold = [...hi].sort((a, b) => b - a)[r.heads - 1]!;
  flat.forEach((m, j) => assert.is(m, hi[j]! >= threshold ? 1 : 0, `head ${j}`));
  assert.equal(r.headMask.map((row) => row.length), [3, 3]);
  assert.equal(r.neuronMask.map((row) => row.length), [5, 5]);
});

s('equal importances are broken by index, so the result does not vary', () => {
  const r = searchByFlops(new Float64Array(6).fill(1), new Float64Array(10).fill(1), small, 0.5);
  const first = r.headMask.flatMap((row) => Array.from(row));
  assert.equal(first, first.map((_, j) => (j < r.heads ? 1 : 0)));
});

s('a constraint outside (0, 1), or too small for one head, is refused', () => {
  const hi = new Float64Array(6).fill(1), ni = new Float64Array(10).fill(1);
  for (const c of [0, 1, -0.5, 1.5, NaN]) {
    assert.throws(() => searchByFlops(hi, ni, small, c), /the constraint is a fraction of the MACs in \(0, 1\)/, `constraint ${c}`);
  }
  assert.throws(() => searchByFlops(hi, ni, small, 0.1), /a constraint of 0.1 leaves 1.210e\+3 MACs, less than one head \(1.736e\+3\)/);
});

s('importances of the wrong length, negative or not finite are refused', () => {
  const ni = new Float64Array(10).fill(1);
  assert.throws(() => searchByFlops(new Float64Array(5), ni, small, 0.5), /6 head importances expected \(layers x head per layer\), got 5/);
  assert.throws(() => searchByFlops(Float64Array.of(1, 1, -1, 1, 1, 1), ni, small, 0.5), /head importance 2 is -1/);
  assert.throws(() => searchByFlops(new Float64Array(6).fill(1), Float64Array.of(1, 1, 1, NaN, 1, 1, 1, 1, 1, 1), small, 0.5), /neuron importance 3 is NaN/);
});

s.run();
