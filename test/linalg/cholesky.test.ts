import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NotPositiveDefiniteError, solveDamped } from '../../src/linalg/cholesky.js';
import { Random } from '../helpers/random.js';
import { normalRef } from '../reference/gram.js';

const rand = new Random();

const solve = suite('solveDamped');
solve('solves a damped normal system to float64 precision', () => {
  const k = 40, rows = 25; // rows < k: the Gram matrix is singular, damping makes it definite
  const A = rand.uniform(rows * k), b = rand.uniform(rows);
  const { ata, atb } = normalRef(A, b, k);
  const x = solveDamped(ata, atb, k, 1);
  for (let i = 0; i < k; i++) {
    let s = x[i]!; // (G + I) x
    for (let j = 0; j < k; j++) s += ata[i * k + j]! * x[j]!;
    assert.ok(Math.abs(s - atb[i]!) < 1e-10 * (1 + Math.abs(atb[i]!)), `row ${i}: ${s} vs ${atb[i]}`);
  }
});
solve('an indefinite matrix is reported, not solved', () => {
  try {
    solveDamped([1, 2, 2, 1], [1, 1], 2, 0);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, NotPositiveDefiniteError);
    assert.match((e as Error).message, 'pivot 1 is -3');
  }
});
solve.run();
