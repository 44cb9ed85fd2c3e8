import * as assert from 'uvu/assert';
import { applyMask, fisherAccumulate, maskGradient } from '../../src/ops/mask.js';
import { assertClose, thrown } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { checkGradient, dot } from '../helpers/gradcheck.js';
import { Random } from '../helpers/random.js';
import { f32 } from '../reference/elementwise.js';
import { applyMaskRef, fisherRef, maskGradientRef } from '../reference/mask.js';

const rand = new Random();

const t = gpuSuite('mask');

t('head mask on [batch, heads, seq, headDim]', async ({ rt }) => {
  const shape = [3, 5, 7, 9];
  const x = f32(rand.uniform(3 * 5 * 7 * 9)), m = f32(rand.uniform(5));
  const out = await applyMask(rt.tensor(x, shape), rt.tensor(m, [5]), 1).read();
  assertClose(out, applyMaskRef(x, m, 63), 'head mask', { rtol: 1.2e-7 });
});

t('neuron mask on [batch, seq, neurons]', async ({ rt }) => {
  const x = f32(rand.uniform(2 * 3 * 257)), m = f32(rand.uniform(257));
  const out = await applyMask(rt.tensor(x, [2, 3, 257]), rt.tensor(m, [257]), -1).read();
  assertClose(out, applyMaskRef(x, m, 1), 'neuron mask', { rtol: 1.2e-7 });
});

// Sums of a few thousand products: 1e-6 of Σ|a g|.
for (const [name, shape, axis] of [['heads', [3, 4, 33, 16], 1], ['neurons', [2, 33, 100], 2], ['one head', [1, 1, 7, 3], 1]] as [string, number[], number][]) {
  t(`per-example ${name} mask gradient lands in its layer`, async ({ rt }) => {
    const n = shape.reduce((p, d) => p * d, 1);
    const a = f32(rand.uniform(n)), g = f32(rand.uniform(n));
    const batch = shape[0], groups = shape[axis], inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
    const layers = 3;
    const out = rt.tensor(new Float32Array(batch * layers * groups).fill(7), [batch, layers, groups]);
    maskGradient(rt.tensor(a, shape), rt.tensor(g, shape), axis, out, 1);
    const got = await out.read();
    const ref = maskGradientRef(a, g, batch, groups, inner);
    for (let b = 0; b < batch; b++) {
      const row = got.slice((b * layers + 1) * groups, (b * layers + 2) * groups);
      assertClose(row, ref.grad.slice(b * groups, (b + 1) * groups), `example ${b}`, { rtol: 1e-6, scales: ref.scale.slice(b * groups, (b + 1) * groups) });
      assert.ok(got.slice(b * layers * groups, (b * layers + 1) * groups).every((v) => v === 7), 'other layers untouched');
    }
  });
}

for (const perBatch of [false, true]) {
  t(`Fisher accumulates ${perBatch ? 'per batch' : 'per example'}`, async ({ rt }) => {
    const batch = 5, n = 2 * 12;
    const g1 = f32(rand.uniform(batch * n)), g2 = f32(rand.uniform(batch * n));
    const fisher = rt.tensor(new Float32Array(n), [2, 12]);
    fisherAccumulate(fisher, rt.tensor(g1, [batch, 2, 12]), { perBatch });
    fisherAccumulate(fisher, rt.tensor(g2, [batch, 2, 12]), { perBatch });
    const ref = fisherRef(g1, batch, perBatch).map((v, j) => v + fisherRef(g2, batch, perBatch)[j]!);
    // Per batch, (Σ_b g)² can cancel to near zero: the float32 sum errs by ~1e-7 of Σ|g|, so
    // the square is held to 1e-6 of (Σ|g|)², what the same sum of magnitudes gives.
    const abs = (g: ArrayLike<number>) => Float64Array.from(g, Math.abs);
    const scales = fisherRef(abs(g1), batch, perBatch).map((v, j) => v + fisherRef(abs(g2), batch, perBatch)[j]!);
    assertClose(await fisher.read(), ref, 'fisher', { rtol: 1e-6, scales });
  });
}

t('a mask of the wrong size and an out-of-range layer are refused', ({ rt }) => {
  assert.match(thrown(() => applyMask(rt.tensor(new Float32Array(6), [1, 2, 3]), rt.tensor([1, 1, 1], [3]), 1)),
    'applyMask: mask [3] does not have the 2 values of axis 1 of tensor[1, 2, 3] f32');
  const a = rt.tensor(new Float32Array(6), [1, 2, 3]);
  assert.match(thrown(() => maskGradient(a, a, 1, rt.tensor(new Float32Array(4), [1, 2, 2]), 2)), 'maskGradient: out [1, 2, 2] is not [1, layers, 2] with a layer 2');
});

t.run();

const split = gpuSuite('mask split', { limits: { maxStorageBufferBindingSize: 4096, maxComputeWorkgroupsPerDimension: 3 } });
split('mask gradient split over examples', async ({ rt }) => {
  const shape = [9, 4, 50], n = 1800;
  const a = f32(rand.uniform(n)), g = f32(rand.uniform(n));
  const out = rt.tensor(new Float32Array(9 * 2 * 4), [9, 2, 4]);
  maskGradient(rt.tensor(a, shape), rt.tensor(g, shape), 1, out, 0);
  const got = await out.read();
  const ref = maskGradientRef(a, g, 9, 4, 50);
  for (let b = 0; b < 9; b++) assertClose(got.slice(b * 8, b * 8 + 4), ref.grad.slice(b * 4, b * 4 + 4), `example ${b}`, { rtol: 1e-6, scales: ref.scale.slice(b * 4, b * 4 + 4) });
});
split('applyMask split', async ({ rt }) => {
  const x = f32(rand.uniform(5000)), m = f32(rand.uniform(10));
  assertClose(await applyMask(rt.tensor(x, [10, 10, 50]), rt.tensor(m, [10]), 1).read(), applyMaskRef(x, m, 50), 'split', { rtol: 1.2e-7 });
});
split.run();

const ref = gpuSuite('mask reference');
ref('the mask gradient is the derivative of the masked output', () => {
  const batch = 2, groups = 3, inner = 4, pre = 2;
  const a = rand.uniform(batch * pre * groups * inner), w = rand.uniform(a.length);
  // One example's mask: the loss of example 1 through its own copy of the mask.
  const perExample = pre * groups * inner;
  const lossOf = (m: Float64Array) => dot(w.slice(perExample), applyMaskRef(a.slice(perExample), m, inner));
  const grad = maskGradientRef(a, w, batch, groups, inner).grad.slice(groups);
  checkGradient(lossOf, [1, 1, 1], grad, 'mask');
});
ref.run();
