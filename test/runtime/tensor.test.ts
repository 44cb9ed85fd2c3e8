import * as assert from 'uvu/assert';
import { add } from '../../src/ops/elementwise.js';
import { DisposedError } from '../../src/runtime/errors.js';
import { rejected, thrown } from '../helpers/compare.js';
import { gpuSuite, skip } from '../helpers/gpu.js';

const t = gpuSuite('tensor');

t('f32, i32 and u32 round-trip exactly', async ({ rt }) => {
  const f = [1.5, -2.25, 3e-8, 1e30, 0];
  assert.equal(Array.from(await rt.tensor(f, [5]).read()), Array.from(Float32Array.from(f)));
  assert.equal(Array.from(await rt.tensor([-7, 0, 2 ** 31 - 1], [3], 'i32').read()), [-7, 0, 2 ** 31 - 1]);
  assert.equal(Array.from(await rt.tensor([0, 2 ** 32 - 1, 5], [3], 'u32').read()), [0, 2 ** 32 - 1, 5]);
});

t('f16 round-trips values a half can hold, odd lengths too', async ({ rt }) => {
  if (!rt.features.f16) return skip('the adapter has no shader-f16');
  const h = [1, -0.5, 65504, 2 ** -24, 0.333251953125];
  assert.equal(Array.from(await rt.tensor(h, [5], 'f16').read()), h);
});

t('reshape and rows are views: no copy, same data', async ({ rt }) => {
  const x = rt.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [3, 4]);
  const before = rt.stats().liveBuffers;
  const r = x.reshape([2, -1]);
  const rows = x.rows(1, 3);
  assert.is(rt.stats().liveBuffers, before, 'views allocate nothing');
  assert.equal(r.shape, [2, 6]);
  assert.equal(Array.from(await rows.read()), [4, 5, 6, 7, 8, 9, 10, 11]);
  // A view at an element offset binds at the device's alignment and shifts inside the kernel.
  const sum = add(x.rows(1, 2), x.rows(2, 3));
  assert.equal(Array.from(await sum.read()), [12, 14, 16, 18]);
});

t('the storage is released when the last view goes', ({ rt }) => {
  const before = rt.stats().liveBuffers;
  const x = rt.tensor([1, 2, 3, 4], [4]);
  const v = x.reshape([2, 2]);
  x.dispose();
  assert.is(rt.stats().liveBuffers, before + 1);
  v.dispose();
  assert.is(rt.stats().liveBuffers, before);
});

t('bad shapes and data are refused with the reason', ({ rt }) => {
  assert.match(thrown(() => rt.tensor([1, 2, 3], [2, 2])), 'tensor: 3 values do not fill shape [2, 2] (4 elements)');
  assert.match(thrown(() => rt.tensor([1], [1.5])), 'has a dimension that is not a non-negative integer');
  assert.match(thrown(() => rt.tensor([1, 2, 3, 4], [4]).reshape([3, -1])), 'reshape: cannot reshape tensor[4] f32 to [3, -1]');
  assert.match(thrown(() => rt.tensor([1, 2, 3, 4], [4]).reshape([5])), 'reshape: tensor[4] f32 has 4 elements, [5] has 5');
  assert.match(thrown(() => rt.tensor([1, 2], [2]).rows(1, 3)), 'rows: range [1, 3) is outside the first axis of tensor[2] f32');
  assert.match(thrown(() => rt.empty([2], 'f64' as never)), 'unknown dtype "f64"');
});

t('a disposed tensor cannot be read or used', async ({ rt }) => {
  const x = rt.tensor([1, 2], [2]);
  x.dispose();
  assert.match(await rejected(() => x.read()), 'read: tensor[2] f32 was used after dispose()');
  assert.match(thrown(() => add(x, x)), 'add: tensor[2] f32 was used after dispose()');
  assert.match(thrown(() => x.reshape([1, 2])), 'reshape: tensor[2] f32 was used after dispose()');
});

t('tidy disposes what it made, except what it returns', async ({ rt }) => {
  const a = rt.tensor([1, 2, 3], [3]);
  const tensorsBefore = rt.stats().tensors;
  let inner: ReturnType<typeof add> | undefined;
  const kept = rt.tidy(() => {
    inner = add(a, a);
    return { out: add(inner, a) };
  });
  assert.ok(inner!.disposed, 'the intermediate is disposed');
  assert.not.ok(kept.out.disposed);
  assert.not.ok(a.disposed, 'tensors made outside are left alone');
  assert.is(rt.stats().tensors, tensorsBefore + 1);
  assert.equal(Array.from(await kept.out.read()), [3, 6, 9]);
});

t('tidy cleans up when its function throws, and refuses async functions', ({ rt }) => {
  const before = rt.stats().tensors;
  assert.match(thrown(() => rt.tidy(() => { rt.tensor([1], [1]); throw new Error('boom'); })), 'boom');
  assert.is(rt.stats().tensors, before);
  assert.match(thrown(() => rt.tidy((async () => undefined) as never)), 'tidy takes a synchronous function');
});

t.run();

const d = gpuSuite('tensor after destroy');
d('a destroyed runtime refuses work', async ({ rt }) => {
  const x = rt.tensor([1], [1]);
  rt.destroy();
  const msg = await rejected(() => x.read());
  assert.match(msg, 'read: the runtime was destroyed');
  try { add(x, x); assert.unreachable(); } catch (e) { assert.instance(e, DisposedError); }
});
d.run();
