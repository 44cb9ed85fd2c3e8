import * as assert from 'uvu/assert';
import { matmul, type MatmulKernel } from '../../src/ops/matmul.js';
import { fromHalfBits, toHalfBits } from '../../src/runtime/dtype.js';
import { assertClose, thrown } from '../helpers/compare.js';
import { gpuSuite, skip } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { f32 } from '../reference/elementwise.js';
import { matmulRef } from '../reference/matmul.js';
import { gelu as geluRef } from '../reference/activation.js';

const rand = new Random();
const toHalf = (x: number) => fromHalfBits(toHalfBits(x));

// float32 accumulation of K products: error <= ~K * 2^-24 * Σ|a||b| in the worst case and
// ~sqrt(K) * 2^-24 * Σ|a||b| typically. 1e-6 * Σ|a||b| covers the sequential sum up to
// K of several thousand with margin, and is well under the 1e-4 budget.
const rtol = 1e-6;

interface Case { batch: number[]; M: number; N: number; K: number; transA: boolean; transB: boolean; sharedB: boolean }

function run(c: Case) {
  return async ({ rt }: { rt: import('../../src/runtime/runtime.js').Runtime }) => {
    const batch = c.batch.reduce((p, d) => p * d, 1);
    const a = f32(rand.uniform(batch * c.M * c.K));
    const bCount = (c.sharedB ? 1 : batch) * c.K * c.N;
    const b = f32(rand.uniform(bCount));
    const aShape = [...c.batch, ...(c.transA ? [c.K, c.M] : [c.M, c.K])];
    const bShape = [...(c.sharedB ? [] : c.batch), ...(c.transB ? [c.N, c.K] : [c.K, c.N])];
    const out = matmul(rt.tensor(a, aShape), rt.tensor(b, bShape), { transA: c.transA, transB: c.transB });
    assert.equal(out.shape, [...c.batch, c.M, c.N]);
    const ref = matmulRef(a, b, batch, c.M, c.N, c.K, c.transA, c.transB);
    assertClose(await out.read(), ref.c, `matmul ${JSON.stringify(c)}`, { rtol, scales: ref.scale, atol: 1e-30 });
  };
}

const cases: Case[] = [];
for (const [M, N, K] of [[1, 1, 1], [7, 33, 5], [33, 7, 257], [64, 64, 64], [65, 31, 100], [3, 129, 2]]) {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) cases.push({ batch: [], M: M!, N: N!, K: K!, transA, transB, sharedB: false });
  }
}
cases.push({ batch: [3], M: 17, N: 9, K: 33, transA: false, transB: false, sharedB: false });
cases.push({ batch: [2, 3], M: 5, N: 40, K: 7, transA: false, transB: true, sharedB: true });
cases.push({ batch: [4], M: 33, N: 12, K: 64, transA: true, transB: false, sharedB: false });
cases.push({ batch: [12], M: 20, N: 20, K: 16, transA: false, transB: true, sharedB: false });
// The vec4 subgroup kernel (adapters with one subgroup size of 4..8: A untransposed,
// K, N % 4 = 0, M >= 8): exact tiles, a K tail (K % 32 != 0), partial lanes and rows,
// Bᵀ, batches and a shared B. Elsewhere these run the general kernel, which is fine too.
for (const [M, N, K] of [[8, 4, 4], [16, 64, 64], [40, 72, 100], [130, 132, 260], [9, 12, 36]]) {
  for (const transB of [false, true]) cases.push({ batch: [], M: M!, N: N!, K: K!, transA: false, transB, sharedB: false });
}
cases.push({ batch: [3], M: 20, N: 68, K: 44, transA: false, transB: false, sharedB: false });
cases.push({ batch: [2, 3], M: 24, N: 20, K: 36, transA: false, transB: true, sharedB: true });
cases.push({ batch: [12], M: 32, N: 32, K: 64, transA: false, transB: true, sharedB: false });

// Every kernel runs every case: CPU adapters have all three (GPUs run the general one).
const kernels: MatmulKernel[] = ['texture', 'subgroup', 'general'];
for (const kernel of kernels) {
  const s = gpuSuite(`matmul (${kernel} kernel)`, { tuning: { matmulKernel: kernel } });
  for (const c of cases) s(`${JSON.stringify(c)}`, run(c));
  s.run();
}

const mm = gpuSuite('matmul');

mm('CPU adapters take the texture kernel, with its scratch textures', async ({ rt }) => {
  await matmul(rt.tensor(rand.uniform(16 * 8), [16, 8]), rt.tensor(rand.uniform(8 * 4), [8, 4])).read();
  const lanes = (rt.device as { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo?.subgroupMinSize ?? 0;
  if (!rt.adapter.software) return skip('not a CPU adapter: the general kernel runs');
  assert.ok(lanes >= 4 && lanes <= 8, `a CPU adapter with subgroups of 4..8 (got ${lanes})`);
  assert.ok(rt.stats().textureBytes >= 16 * 8 * 4, `scratch textures hold A (${rt.stats().textureBytes} bytes)`);
});

mm('texture kernel: operands whose rows can be copied, at offsets that can and cannot', async ({ rt }) => {
  // Rows of 64 floats (256 bytes) are copied into the textures when they start on a texel
  // (16 bytes); 3 floats in, the pack kernel takes them.
  for (const lead of [0, 4, 3]) {
    const a = f32(rand.uniform(lead + 20 * 64)), b = f32(rand.uniform(64 * 128));
    const aView = rt.tensor(a, [lead + 20 * 64]).rows(lead, lead + 20 * 64).reshape([20, 64]);
    const out = matmul(aView, rt.tensor(b, [64, 128]));
    const ref = matmulRef(a.subarray(lead), b, 1, 20, 128, 64, false, false);
    assertClose(await out.read(), ref.c, `A ${lead} floats into its buffer`, { rtol, scales: ref.scale, atol: 1e-30 });
  }
});

const fresh = gpuSuite('matmul texture packing', { tuning: { matmulKernel: 'texture' } });
fresh('aligned rows are copied (no pack kernel); others take the pack kernel', async ({ rt }) => {
  if (!rt.adapter.software) return skip('not a CPU adapter: no texture kernel');
  const pipelines = () => rt.stats().pipelines;
  rt.empty([4]).dispose(); // compiles the poisoning fill first
  const start = pipelines();
  await matmul(rt.tensor(rand.uniform(16 * 64), [16, 64]), rt.tensor(rand.uniform(8 * 64), [8, 64]), { transB: true }).read();
  assert.is(pipelines() - start, 1, 'the texture kernel alone: both operands copied');
  await matmul(rt.tensor(rand.uniform(16 * 12), [16, 12]), rt.tensor(rand.uniform(8 * 12), [8, 12]), { transB: true }).read();
  assert.is(pipelines() - start, 2, 'rows of 48 bytes: the pack kernel');
});
fresh.run();

mm('texture kernel: stale values in the scratch textures do not reach C', async ({ rt }) => {
  // A product with NaN and Inf everywhere leaves them in both scratch textures; the next,
  // with K and N not multiples of 4, reads that texture memory past its own K and N.
  const bad = new Float32Array(40 * 40).map((_, i) => (i % 2 ? NaN : Infinity));
  await matmul(rt.tensor(bad, [40, 40]), rt.tensor(bad, [40, 40])).read();
  await run({ batch: [2], M: 9, N: 7, K: 5, transA: false, transB: false, sharedB: false })({ rt });
  await run({ batch: [], M: 11, N: 3, K: 6, transA: true, transB: true, sharedB: false })({ rt });
});

mm('K = 0 gives zeros', async ({ rt }) => {
  const out = matmul(rt.tensor([], [3, 0]), rt.tensor([], [0, 2]));
  assert.equal(Array.from(await out.read()), [0, 0, 0, 0, 0, 0]);
});

mm('a long inner dimension (K = 3072) stays within tolerance', run({ batch: [], M: 9, N: 10, K: 3072, transA: false, transB: false, sharedB: false }));

mm('mismatched inner dimensions are refused', ({ rt }) => {
  const msg = thrown(() => matmul(rt.tensor(new Float32Array(6), [2, 3]), rt.tensor(new Float32Array(8), [4, 2])));
  assert.match(msg, 'matmul: inner dimensions differ: [2, 3] x [4, 2] (3 vs 4)');
});

mm('mismatched batch dims are refused', ({ rt }) => {
  const msg = thrown(() => matmul(rt.tensor(new Float32Array(12), [2, 2, 3]), rt.tensor(new Float32Array(18), [3, 3, 2])));
  assert.match(msg, 'matmul: batch dims differ');
});

mm('integer operands are refused', ({ rt }) => {
  assert.match(thrown(() => matmul(rt.tensor([1], [1, 1], 'i32'), rt.tensor([1], [1, 1]))), 'matmul: needs f32 or f16 tensors, got i32 and f32');
});

mm('a disposed operand is refused', ({ rt }) => {
  const a = rt.tensor([1, 2], [1, 2]);
  a.dispose();
  assert.match(thrown(() => matmul(a, rt.tensor([1, 2], [2, 1]))), 'matmul: tensor[1, 2] f32 was used after dispose()');
});

mm.run();

// f16 operands (shader-f16): the reference multiplies the same f16-rounded values in
// float64, so the only error left is the f32 accumulation (same tolerance as f32).
for (const kernel of ['texture', 'general'] as const) {
  const half = gpuSuite(`matmul f16 operands (${kernel} kernel)`, { tuning: { matmulKernel: kernel } });
  for (const [M, K, N, aType, bType, transA, transB, bias] of [
    [20, 36, 12, 'f16', 'f16', false, false, false], [9, 13, 7, 'f32', 'f16', false, true, true],
    [33, 8, 5, 'f16', 'f32', true, false, false], [3, 64, 40, 'f16', 'f16', false, true, true],
  ] as const) {
    half(`${M}x${K}x${N} A ${aType}${transA ? 'ᵀ' : ''}, B ${bType}${transB ? 'ᵀ' : ''}${bias ? ' + bias' : ''}`, async ({ rt }) => {
      if (!rt.features.f16) return skip('the adapter has no shader-f16');
      const round = (x: Float64Array, t: string) => (t === 'f16' ? Float64Array.from(x, toHalf) : f32(x));
      const a = round(rand.uniform(M * K), aType), b = round(rand.uniform(K * N), bType), c0 = f32(rand.uniform(N));
      const out = matmul(rt.tensor(a, transA ? [K, M] : [M, K], aType), rt.tensor(b, transB ? [N, K] : [K, N], bType),
        { transA, transB, bias: bias ? rt.tensor(c0, [N]) : undefined });
      assert.is(out.dtype, 'f32');
      const ref = matmulRef(a, b, 1, M, N, K, transA, transB);
      const want = ref.c.map((v, i) => v + (bias ? c0[i % N]! : 0));
      assertClose(await out.read(), want, 'f16 matmul', { rtol, scales: ref.scale.map((sc, i) => sc + (bias ? Math.abs(c0[i % N]!) : 0)), atol: 1e-30 });
    });
  }
  half.run();
}

// Bindings of 4 KiB and at most 2 workgroups a dimension: every path of the split runs.
// The storage kernels' names say which kernel they mean; textures are split below.
const split = gpuSuite('matmul split', { limits: { maxStorageBufferBindingSize: 4096, maxComputeWorkgroupsPerDimension: 2 }, tuning: { matmulKernel: 'subgroup' } });
split('by batches', run({ batch: [9], M: 10, N: 11, K: 12, transA: false, transB: false, sharedB: false }));
split('by rows of C, shared B', run({ batch: [2], M: 150, N: 20, K: 30, transA: false, transB: true, sharedB: true }));
split('vec4 kernel by batches, shared B', run({ batch: [5], M: 16, N: 16, K: 8, transA: false, transB: false, sharedB: true }));
split('vec4 kernel by rows of C', run({ batch: [], M: 100, N: 20, K: 12, transA: false, transB: false, sharedB: false }));
split('vec4 kernel by rows of C, Bᵀ', run({ batch: [2], M: 70, N: 16, K: 24, transA: false, transB: true, sharedB: true }));
split('by rows with Aᵀ', run({ batch: [], M: 150, N: 5, K: 6, transA: true, transB: false, sharedB: false }));
split('by grid tiles', run({ batch: [5], M: 70, N: 9, K: 3, transA: false, transB: false, sharedB: false }));
split.run();

// Textures of at most 24 texels a side: the texture kernel splits by rows of A, by batches
// (A's rows, and B's K when B is not shared), and packs in several launches.
const texSplit = gpuSuite('matmul texture split', { limits: { maxTextureDimension2D: 24, maxComputeWorkgroupsPerDimension: 2 }, tuning: { matmulKernel: 'texture' } });
texSplit('by rows of A', run({ batch: [], M: 70, N: 20, K: 12, transA: false, transB: false, sharedB: false }));
texSplit('by rows of Aᵀ', run({ batch: [], M: 50, N: 9, K: 10, transA: true, transB: true, sharedB: false }));
texSplit('by batches, B per batch', run({ batch: [5], M: 8, N: 12, K: 10, transA: false, transB: false, sharedB: false }));
texSplit('by batches, shared B', run({ batch: [2, 3], M: 9, N: 16, K: 20, transA: false, transB: true, sharedB: true }));
texSplit('by rows and batches, operands copied into the textures (rows of 256 bytes)', run({ batch: [3], M: 50, N: 20, K: 64, transA: false, transB: true, sharedB: false }));
texSplit('K past a texture side falls back to a storage kernel', run({ batch: [], M: 9, N: 8, K: 100, transA: false, transB: false, sharedB: false }));
texSplit.run();

// The fused epilogue: bias over columns, then GELU, on both kernels (the aligned shapes take
// the subgroup kernel where the adapter has one; odd shapes and Aᵀ the general one).
const ep = gpuSuite('matmul epilogue');
for (const [M, K, N, transA, transB] of [[33, 64, 24, false, true], [40, 32, 16, false, false], [7, 5, 9, false, true], [17, 12, 8, true, false]] as const) {
  for (const gelu of [false, true]) {
    ep(`${M}x${K}x${N}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''} + bias${gelu ? ' + GELU' : ''}`, async ({ rt }) => {
      const a = f32(rand.uniform(M * K)), b = f32(rand.uniform(K * N)), bias = f32(rand.uniform(N));
      const out = matmul(rt.tensor(a, transA ? [K, M] : [M, K]), rt.tensor(b, transB ? [N, K] : [K, N]), { transA, transB, bias: rt.tensor(bias, [N]), gelu });
      const ref = matmulRef(a, b, 1, M, N, K, transA, transB);
      const want = ref.c.map((v, i) => (gelu ? geluRef(v + bias[i % N]!) : v + bias[i % N]!));
      // The product's tolerance, carried through GELU (slope at most ~1.13), plus the erfc fit's 1.2e-7.
      const scales = ref.scale.map((s, i) => 1.2 * s + Math.abs(want[i]!) + Math.abs(bias[i % N]!));
      assertClose(await out.read(), want, 'epilogue', { rtol: 1e-6, scales });
    });
  }
}
// The addend (C's shape, added before GELU) on every kernel, batched with a shared B (the
// batch folds into M) or not, with a bias, at an offset that is not a multiple of 4 (C and the
// addend then take the scalar store), and split by bindings and by texture sides.
for (const [name, options] of [
  ...kernels.map((kernel) => [`${kernel} kernel`, { tuning: { matmulKernel: kernel } }] as const),
  ['split by bindings', { limits: { maxStorageBufferBindingSize: 4096, maxComputeWorkgroupsPerDimension: 2 }, tuning: { matmulKernel: 'subgroup' as const } }] as const,
  ['split by texture sides', { limits: { maxTextureDimension2D: 24, maxComputeWorkgroupsPerDimension: 2 }, tuning: { matmulKernel: 'texture' as const } }] as const,
]) {
  const acc = gpuSuite(`matmul addend (${name})`, options);
  for (const [batch, M, K, N, transA, transB, shift, gelu] of [
    [3, 9, 16, 12, false, true, 0, false], [1, 40, 12, 20, false, false, 1, true], [2, 7, 5, 9, true, false, 3, false], [4, 16, 8, 8, false, false, 2, false],
  ] as const) {
    acc(`[${batch}] ${M}x${K}x${N}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''} + bias + addend at element ${shift}${gelu ? ' + GELU' : ''}`, async ({ rt }) => {
      const shared = !transA;
      const a = f32(rand.uniform(batch * M * K)), b = f32(rand.uniform((shared ? 1 : batch) * K * N)), bias = f32(rand.uniform(N));
      const addend = f32(rand.uniform(shift + batch * M * N));
      const at = rt.tensor(a, transA ? [batch, K, M] : [batch, M, K]);
      const bt = rt.tensor(b, shared ? (transB ? [N, K] : [K, N]) : (transB ? [batch, N, K] : [batch, K, N]));
      const whole = rt.tensor(addend, [shift + batch * M * N]);
      const view = whole.rows(shift, shift + batch * M * N).reshape([batch, M, N]);
      const out = await matmul(at, bt, { transA, transB, bias: rt.tensor(bias, [N]), addend: view, gelu }).read();
      for (let z = 0; z < batch; z++) {
        const ref = matmulRef(a.slice(z * M * K, (z + 1) * M * K), shared ? b : b.slice(z * K * N, (z + 1) * K * N), 1, M, N, K, transA, transB);
        const want = ref.c.map((v, i) => { const x = v + bias[i % N]! + addend[shift + z * M * N + i]!; return gelu ? geluRef(x) : x; });
        const scales = ref.scale.map((sc, i) => 1.2 * sc + Math.abs(want[i]!) + Math.abs(bias[i % N]!) + Math.abs(addend[shift + z * M * N + i]!));
        assertClose(out.slice(z * M * N, (z + 1) * M * N), want, `batch ${z}`, { rtol: 1e-6, scales });
      }
    });
  }
  acc.run();
}

ep('an addend of another shape is refused', ({ rt }) => {
  assert.match(thrown(() => matmul(rt.tensor(new Float32Array(6), [2, 3]), rt.tensor(new Float32Array(6), [3, 2]), { addend: rt.tensor([1, 2, 3, 4], [4]) })),
    'matmul: addend tensor[4] f32 is not C\'s shape [2, 2] f32');
  // A batch over a shared B folds into M: an addend of C's size in another layout is still refused.
  assert.match(thrown(() => matmul(rt.tensor(new Float32Array(2 * 3 * 4), [2, 3, 4]), rt.tensor(new Float32Array(4 * 5), [4, 5]), { addend: rt.tensor(new Float32Array(30), [3, 2, 5]) })),
    'matmul: addend tensor[3, 2, 5] f32 is not C\'s shape [2, 3, 5] f32');
});
ep('a bias of the wrong size is refused', ({ rt }) => {
  assert.match(thrown(() => matmul(rt.tensor(new Float32Array(6), [2, 3]), rt.tensor(new Float32Array(6), [3, 2]), { bias: rt.tensor([1, 2, 3], [3]) })),
    'matmul: bias tensor[3] f32 does not have the 2 f32 values of C\'s columns');
});
ep.run();
