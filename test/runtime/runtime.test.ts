import * as assert from 'uvu/assert';
import { kernel } from '../../shaders/kernel.js';
import { add, mul, scale } from '../../src/ops/elementwise.js';
import { matmul } from '../../src/ops/matmul.js';
import { sum } from '../../src/ops/reduce.js';
import { DeviceLostError, KernelError, NoAdapterError } from '../../src/runtime/errors.js';
import { describeAdapter } from '../../src/runtime/gpu.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { gpuSuite, skip } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';

const rand = new Random();
const isNode = typeof process !== 'undefined' && !!process.versions?.node;

const r = gpuSuite('runtime');

r('names its adapter and takes the adapter limits', ({ rt }) => {
  console.log(`adapter: ${describeAdapter(rt.adapter)}`);
  assert.ok(describeAdapter(rt.adapter).length > 0);
  assert.ok(rt.limits.maxStorageBufferBindingSize >= 128 * 1024 * 1024, 'at least the WebGPU default');
  assert.ok(rt.limits.maxComputeInvocationsPerWorkgroup >= 256);
});

r('a step of many launches is one submit', async ({ rt }) => {
  const x = rt.tensor(rand.uniform(64), [8, 8]);
  const before = rt.stats().submits;
  let y = x;
  for (let i = 0; i < 50; i++) y = add(matmul(y, x), scale(y, 0.01));
  await sum(y, 1).read();
  assert.is(rt.stats().submits - before, 1);
});

r('1,000 steps leave live buffers, bytes and pipelines flat', async ({ rt }) => {
  const w = rt.tensor(rand.uniform(33 * 17), [33, 17]);
  const bias = rt.tensor(rand.uniform(17), [17]);
  const step = () => rt.tidy(() => {
    const x = rt.tensor(rand.uniform(5 * 33), [5, 33]);
    const h = add(matmul(x, w), bias);
    return sum(mul(h, h), 1);
  });
  const first = step();
  await first.read();
  first.dispose();
  const base = rt.stats();
  for (let i = 0; i < 1000; i++) {
    const out = step();
    if (i % 100 === 99) await out.read();
    out.dispose();
  }
  await rt.sync();
  const after = rt.stats();
  assert.is(after.liveBuffers, base.liveBuffers, 'live buffers');
  assert.is(after.liveBytes, base.liveBytes, 'live bytes');
  assert.is(after.tensors, base.tensors, 'live tensors');
  assert.is(after.freeBuffers, base.freeBuffers, 'pooled buffers: nothing new was allocated');
  assert.is(after.pipelines, base.pipelines, 'pipelines are cached by source, not data');
});

r.run();

const lost = gpuSuite('device loss');
lost('a lost device rejects pending reads instead of hanging', async ({ rt }) => {
  const x = add(rt.tensor([1, 2], [2]), rt.tensor([3, 4], [2]));
  rt.device.destroy();
  try {
    await x.read();
    assert.unreachable('the read should fail');
  } catch (e) {
    assert.instance(e, DeviceLostError);
    assert.match((e as Error).message, 'the GPU device was lost');
  }
});
lost.run();

const kinds = gpuSuite('errors');
kinds('kernel errors are KernelError', async ({ rt }) => {
  const bad = { ...kernel({ name: 'bad', bindings: {}, workgroupSize: 1, dispatch: () => 1, code: 'fn main() {}' }), source: 'fn' };
  rt.launch(bad, {}, {});
  try { await rt.sync(); assert.unreachable(); } catch (e) { assert.instance(e, KernelError); }
});
kinds('no adapter gives a message that says how to get one', async () => {
  if (!isNode) return skip('Dawn options exist only in Node');
  try {
    await createRuntime({ dawnOptions: ['adapter=no-such-adapter-anywhere'] });
    assert.unreachable('an adapter was found');
  } catch (e) {
    assert.instance(e, NoAdapterError);
    assert.match((e as Error).message, 'scripts/setup.sh');
  }
});
kinds.run();
