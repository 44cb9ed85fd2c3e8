import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fidelity } from '../../src/eval/fidelity.js';

const f = suite('fidelity');

f('the same logits agree everywhere with no divergence', () => {
  assert.equal(fidelity([1, 2, 3, 0, 5, -1], [1, 2, 3, 0, 5, -1], 3), { agreement: 1, meanKL: 0 });
});

f('agreement counts equal argmaxes; KL(full ‖ pruned) in nats, averaged', () => {
  // Row 1: p = softmax(0, 0) = (0.5, 0.5), argmax 0 (ties go to the first); q = softmax(0, ln 3)
  // = (0.25, 0.75), argmax 1: they disagree, KL = 0.5 ln 2 + 0.5 ln(2/3).
  // Row 2: the same logits shifted by 3: they agree, KL 0.
  const r = fidelity([0, 0, 2, 1], [0, Math.log(3), 5, 4], 2) as { agreement: number; meanKL: number };
  assert.is(r.agreement, 0.5);
  assert.ok(Math.abs(r.meanKL - (0.5 * Math.log(2) + 0.5 * Math.log(2 / 3)) / 2) < 1e-15, `${r.meanKL}`);
});

f('regression: the mean squared difference', () => {
  assert.equal(fidelity([1, 2, 3], [1, 4, 0], 1), { meanSquaredDifference: (0 + 4 + 9) / 3 });
});

f('logits that do not make rows are refused', () => {
  assert.throws(() => fidelity([1, 2, 3], [1, 2], 3), /3 and 2 logits do not make rows of 3/);
});

f.run();
