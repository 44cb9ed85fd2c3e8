import * as assert from 'uvu/assert';
import { max, sum } from '../../src/ops/reduce.js';
import { assertClose, thrown } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { f32 } from '../reference/elementwise.js';
import { reduceRef } from '../reference/reduce.js';

const rand = new Random();
// Pairwise (tree) sums along rows and sequential sums along strided axes, of at most a few
// thousand terms: 1e-6 * Σ|x| bounds both with margin. max is exact.
const rtol = 1e-6;

const r = gpuSuite('reduce');
for (const [shape, axis] of [[[7], 0], [[3, 33], -1], [[3, 33], 0], [[2, 5, 257], 1], [[4, 3000], 1], [[1, 1], 1], [[257, 3], 0], [[2, 3, 4, 5], 2]] as [number[], number][]) {
  for (const op of ['sum', 'max'] as const) {
    r(`${op} ${JSON.stringify(shape)} axis ${axis}`, async ({ rt }) => {
      const x = f32(rand.uniform(shape.reduce((p, d) => p * d, 1)));
      const out = (op === 'sum' ? sum : max)(rt.tensor(x, shape), axis);
      const ax = axis < 0 ? axis + shape.length : axis;
      assert.equal(out.shape, shape.filter((_, i) => i !== ax));
      const ref = reduceRef(op, x, shape, axis);
      assertClose(await out.read(), ref.out, `${op} ${shape} axis ${axis}`, { rtol: op === 'sum' ? rtol : 0, scales: ref.scale });
    });
  }
}

r('keepDims keeps the reduced axis as 1', async ({ rt }) => {
  const out = sum(rt.tensor([1, 2, 3, 4, 5, 6], [2, 3]), 1, true);
  assert.equal(out.shape, [2, 1]);
  assert.equal(Array.from(await out.read()), [6, 15]);
});

r('an axis out of range is refused', ({ rt }) => {
  assert.match(thrown(() => sum(rt.tensor([1, 2], [2]), 1)), 'sum: axis 1 is out of range for tensor[2] f32');
});

r.run();

const split = gpuSuite('reduce split', { limits: { maxStorageBufferBindingSize: 4096, maxComputeWorkgroupsPerDimension: 3 } });
split('rows split over bindings and launches', async ({ rt }) => {
  const shape = [50, 60];
  const x = f32(rand.uniform(3000));
  const ref = reduceRef('sum', x, shape, 1);
  assertClose(await sum(rt.tensor(x, shape), 1).read(), ref.out, 'split rows', { rtol, scales: ref.scale });
});
split('strided split over bindings and launches', async ({ rt }) => {
  const shape = [40, 7, 11];
  const x = f32(rand.uniform(40 * 77));
  const ref = reduceRef('max', x, shape, 1);
  assertClose(await max(rt.tensor(x, shape), 1).read(), ref.out, 'split strided', { rtol: 0 });
});
split('an axis longer than one binding is reduced in pieces, then the pieces', async ({ rt }) => {
  for (const [shape, axis, op] of [[[300, 7], 0, 'sum'], [[2, 3000], 1, 'sum'], [[2, 1500, 3], 1, 'max']] as const) {
    const x = f32(rand.uniform(shape.reduce((p, d) => p * d, 1)));
    const ref = reduceRef(op, x, [...shape], axis);
    const out = (op === 'sum' ? sum : max)(rt.tensor(x, shape), axis);
    assert.equal(out.shape, shape.filter((_, i) => i !== axis));
    assertClose(await out.read(), ref.out, `pieces ${shape} axis ${axis}`, { rtol, scales: ref.scale });
  }
});
split.run();
