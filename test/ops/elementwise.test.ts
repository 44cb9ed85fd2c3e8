import * as assert from 'uvu/assert';
import { add, div, mul, scale, sub } from '../../src/ops/elementwise.js';
import { assertClose, thrown } from '../helpers/compare.js';
import { gpuSuite, skip } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { affineRef, binaryRef, f32 } from '../reference/elementwise.js';

const rand = new Random();
const ops = { add, sub, mul, div } as const;

// One float32 rounding of exact inputs: relative error at most 2^-24 ≈ 6e-8.
const rtol = 1.2e-7;

const binary = gpuSuite('elementwise');

for (const [aShape, bShape] of [[[6, 64], [64]], [[4, 128], [4, 128]], [[7], [7]], [[3, 33], [33]], [[2, 5, 257], [5, 257]], [[1], [1]], [[4, 9], [1, 9]], [[1000], [1]]] as number[][][]) {
  for (const name of Object.keys(ops) as (keyof typeof ops)[]) {
    binary(`${name} ${JSON.stringify(aShape)} with ${JSON.stringify(bShape)}`, async ({ rt }) => {
      const n = aShape!.reduce((x, y) => x * y, 1), m = bShape!.reduce((x, y) => x * y, 1);
      const a = f32(rand.uniform(n)), b = f32(rand.uniform(m, name === 'div' ? 0.5 : -1, 2));
      const out = ops[name](rt.tensor(a, aShape!), rt.tensor(b, bShape!));
      assert.equal(out.shape, aShape);
      assertClose(await out.read(), binaryRef(name, a, b), name, { rtol });
    });
  }
}

binary('integer add keeps exact values', async ({ rt }) => {
  const a = rand.ints(300, -1e6, 1e6), b = rand.ints(30, -1e6, 1e6);
  const out = add(rt.tensor(a, [10, 30], 'i32'), rt.tensor(b, [30], 'i32'));
  assert.equal(Array.from(await out.read()), Array.from(binaryRef('add', a, b)));
});

binary('scale computes a * alpha + beta', async ({ rt }) => {
  const a = f32(rand.uniform(1025));
  const out = scale(rt.tensor(a, [1025]), 0.125, -3);
  assertClose(await out.read(), affineRef(a, 0.125, -3), 'scale', { rtol, atol: 3 * 2 ** -24 });
});

binary('f16 add, where the adapter has shader-f16', async ({ rt }) => {
  if (!rt.features.f16) return skip('the adapter has no shader-f16');
  const a = rand.uniform(77), b = rand.uniform(77);
  const out = add(rt.tensor(a, [77], 'f16'), rt.tensor(b, [77], 'f16'));
  assert.is(out.dtype, 'f16');
  // Inputs round to half (2^-11 relative), and so does the sum.
  assertClose(await out.read(), binaryRef('add', a, b), 'f16 add', { atol: 3 * 2 ** -11 });
});

binary('shapes that do not broadcast are refused', ({ rt }) => {
  const msg = thrown(() => add(rt.tensor(new Float32Array(6), [2, 3]), rt.tensor(new Float32Array(2), [2])));
  assert.match(msg, 'add: [2] does not broadcast to [2, 3]');
});

binary('mixed dtypes are refused', ({ rt }) => {
  const msg = thrown(() => mul(rt.tensor([1, 2], [2]), rt.tensor([1, 2], [2], 'i32')));
  assert.match(msg, 'mul: dtypes differ (f32 and i32)');
});

binary('scale refuses integer tensors', ({ rt }) => {
  assert.match(thrown(() => scale(rt.tensor([1], [1], 'i32'), 2)), 'scale: needs a float tensor, got i32');
});

binary.run();

// The same kernels with limits small enough that every launch is split: bindings of
// 4 KiB (1,024 floats) and at most 3 workgroups a dimension.
const split = gpuSuite('elementwise split', { limits: { maxStorageBufferBindingSize: 4096, maxComputeWorkgroupsPerDimension: 3 } });

split('add splits bindings and dispatches, broadcast b fits', async ({ rt }) => {
  const a = f32(rand.uniform(5 * 777)), b = f32(rand.uniform(777));
  const out = add(rt.tensor(a, [5, 777]), rt.tensor(b, [777]));
  assertClose(await out.read(), binaryRef('add', a, b), 'split add', { rtol });
});

split('mul splits when b itself is larger than a binding', async ({ rt }) => {
  const a = f32(rand.uniform(3 * 2500)), b = f32(rand.uniform(2500));
  const out = mul(rt.tensor(a, [3, 2500]), rt.tensor(b, [2500]));
  assertClose(await out.read(), binaryRef('mul', a, b), 'split mul', { rtol });
});

split('scale splits over many launches', async ({ rt }) => {
  const a = f32(rand.uniform(10000));
  const out = scale(rt.tensor(a, [10000]), 2, 1);
  assertClose(await out.read(), affineRef(a, 2, 1), 'split scale', { rtol });
});

split.run();
