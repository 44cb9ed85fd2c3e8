import * as assert from 'uvu/assert';
import { permute, transpose } from '../../src/ops/transpose.js';
import { thrown } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { f32 } from '../reference/elementwise.js';
import { permuteRef } from '../reference/transpose.js';

const rand = new Random();

// A copy: results must be bit-exact.
const t = gpuSuite('transpose');
for (const [shape, perm] of [[[7, 33], [1, 0]], [[1, 1], [1, 0]], [[2, 5, 257], [0, 2, 1]], [[3, 4, 5, 6], [0, 2, 1, 3]], [[2, 3, 4], [2, 0, 1]], [[33], [0]]] as [number[], number[]][]) {
  t(`permute ${JSON.stringify(shape)} by ${JSON.stringify(perm)}`, async ({ rt }) => {
    const x = f32(rand.uniform(shape.reduce((p, d) => p * d, 1)));
    const out = permute(rt.tensor(x, shape), perm);
    assert.equal(out.shape, perm.map((p) => shape[p]));
    assert.equal(Array.from(await out.read()), Array.from(permuteRef(x, shape, perm)));
  });
}

t('transpose swaps the last two axes', async ({ rt }) => {
  const out = transpose(rt.tensor([1, 2, 3, 4, 5, 6], [1, 2, 3]));
  assert.equal(out.shape, [1, 3, 2]);
  assert.equal(Array.from(await out.read()), [1, 4, 2, 5, 3, 6]);
});

t('a bad permutation is refused', ({ rt }) => {
  assert.match(thrown(() => permute(rt.tensor([1, 2], [1, 2]), [0, 0])), 'permute: [0, 0] is not a permutation of the 2 axes');
});
t.run();

const split = gpuSuite('transpose split', { limits: { maxStorageBufferBindingSize: 4096, maxComputeWorkgroupsPerDimension: 2 } });
split('permute splits along the output', async ({ rt }) => {
  const shape = [8, 30, 20], perm = [1, 0, 2];
  const x = f32(rand.uniform(4800));
  assert.equal(Array.from(await permute(rt.tensor(x, shape), perm).read()), Array.from(permuteRef(x, shape, perm)));
});
split.run();
