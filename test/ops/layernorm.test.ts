import * as assert from 'uvu/assert';
import { addLayernormForward, layernormBackward, layernormForward } from '../../src/ops/layernorm.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { assertClose, thrown } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { alignBindings, at, launching } from '../helpers/kernels.js';
import { checkGradient, dot } from '../helpers/gradcheck.js';
import { Random } from '../helpers/random.js';
import { f32 } from '../reference/elementwise.js';
import { layernormBackwardRef, layernormRef } from '../reference/layernorm.js';

const rand = new Random();

// Outputs are O(1) after normalisation; float32 sums over a row of up to a few thousand
// values err by ~1e-7 relative, which rstd and the affine map carry through. 2e-6 of
// (|value| + 1) covers it; the parameter gradients sum over rows: 2e-6 of Σ|terms|.
const rtol = 2e-6;

function data(rows: number, cols: number, offset = 0) {
  return {
    x: f32(rand.uniform(rows * cols, -2 + offset, 2 + offset)), gamma: f32(rand.uniform(cols, 0.5, 1.5)),
    beta: f32(rand.uniform(cols)), dy: f32(rand.uniform(rows * cols)),
  };
}


/** A row-wise kernel's name in a variant (shaders/layernorm.ts names them so). */
const variantName = (base: string, vec4: boolean, rowPerThread: boolean) => `${base}${vec4 ? '[vec4]' : ''}${rowPerThread ? '[row]' : ''}`;

/** Element offsets at which the inputs of LayerNorm are placed (views into larger buffers). */
interface Offsets { x?: number; gamma?: number; beta?: number; dy?: number }

/**
 * LayerNorm forward and backward (with the parameter gradients) against the float64
 * reference, the inputs placed at `offsets` (an offset that is not a multiple of 4 forces
 * the scalar kernels of the ops that read that input); with `rowPerThread` given, also that
 * each op launched the variant it should: vec4 when cols % 4 == 0 and its inputs allow.
 */
async function checkLayernorm(rt: Runtime, rows: number, cols: number, eps: number, { offset = 0, offsets = {} as Offsets, rowPerThread = undefined as boolean | undefined, tol = {} as { atol?: number } } = {}) {
  const d = data(rows, cols, offset);
  const x = at(rt, d.x, [rows, cols], offsets.x ?? 0), gamma = at(rt, d.gamma, [cols], offsets.gamma ?? 0), beta = at(rt, d.beta, [cols], offsets.beta ?? 0);
  const { result: fwd, kernels: fwdKernels } = launching(rt, () => layernormForward(x, gamma, beta, eps));
  const ref = layernormRef(d.x, d.gamma, d.beta, cols, eps);
  const scale = (v: ArrayLike<number>) => Float64Array.from(v, (z) => Math.abs(z) + 1);
  // x - mean in float32 loses |mean| x 6e-8, which rstd and gamma scale into y.
  const yScale = Float64Array.from(ref.y, (z, i) => Math.abs(z) + 1 + 1.5 * Math.abs(ref.mean[Math.floor(i / cols)]!) * ref.rstd[Math.floor(i / cols)]!);
  assertClose(await fwd.y.read(), ref.y, 'y', { rtol, scales: yScale, ...tol });
  assertClose(await fwd.mean.read(), ref.mean, 'mean', { rtol, scales: scale(ref.mean), ...tol });
  assertClose(await fwd.rstd.read(), ref.rstd, 'rstd', { rtol: 1e-5, ...tol });

  const { result: bwd, kernels: bwdKernels } = launching(rt, () => layernormBackward(x, gamma, fwd, at(rt, d.dy, [rows, cols], offsets.dy ?? 0), { params: true }));
  const rb = layernormBackwardRef(d.x, d.gamma, d.dy, cols, eps);
  // dx subtracts row means of g: its scale is rstd times the magnitude of g.
  const dxScale = Float64Array.from(rb.dx, (_, i) => ref.rstd[Math.floor(i / cols)]! * (Math.abs(d.dy[i]! * d.gamma[i % cols]!) + 1));
  assertClose(await bwd.dx.read(), rb.dx, 'dx', { rtol: 1e-5, scales: dxScale, ...tol });
  // Σ_rows |dy| (|xhat| + 1 + |mean| rstd): xhat inherits the error of x - mean.
  const colScale = Float64Array.from({ length: cols }, (_, c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) {
      const xhat = (d.x[r * cols + c]! - ref.mean[r]!) * ref.rstd[r]!;
      s += Math.abs(d.dy[r * cols + c]!) * (Math.abs(xhat) + 1 + 1.5 * Math.abs(ref.mean[r]!) * ref.rstd[r]!);
    }
    return s;
  });
  assertClose(await bwd.dgamma!.read(), rb.dgamma, 'dgamma', { rtol, scales: colScale, ...tol });
  assertClose(await bwd.dbeta!.read(), rb.dbeta, 'dbeta', { rtol, scales: colScale, ...tol });

  if (rowPerThread === undefined) return;
  const aligned = (...names: (keyof Offsets)[]) => cols % 4 === 0 && names.every((n) => (offsets[n] ?? 0) % 4 === 0);
  const only = (ks: string[], base: string) => [...new Set(ks.filter((k) => k.startsWith(`${base}[`) || k === base))];
  assert.equal(only(fwdKernels, 'layernormForward'), [variantName('layernormForward', aligned('x', 'gamma', 'beta'), rowPerThread)], 'forward kernel');
  assert.equal(only(bwdKernels, 'layernormBackward'), [variantName('layernormBackward', aligned('x', 'gamma', 'dy'), rowPerThread)], 'backward kernel');
  assert.equal(only(bwdKernels, 'layernormParamsBackward'), [`layernormParamsBackward${aligned('x', 'dy') ? '[vec4]' : ''}`], 'parameter backward kernel');
}

/**
 * The fused y = LN(a + b) against a float64 LayerNorm of the exact sum, and the backward
 * layernormBackward takes from what it saves (dx is the gradient of a and of b).
 * `viewOffset` places a and gamma at that element: one that is not a multiple of 4 rules the
 * vec4 kernel out.
 */
async function checkAddLayernorm(rt: Runtime, rows: number, cols: number, eps: number, { offset = 0, viewOffset = 0, tol = {} as { atol?: number } } = {}) {
  const d = data(rows, cols, offset);
  const b = f32(rand.uniform(rows * cols));
  const sum = Float64Array.from(d.x, (v, i) => v + b[i]!);
  const fwd = addLayernormForward(
    at(rt, d.x, [rows, cols], viewOffset), rt.tensor(b, [rows, cols]), at(rt, d.gamma, [cols], viewOffset), rt.tensor(d.beta, [cols]), eps,
  );
  const ref = layernormRef(sum, d.gamma, d.beta, cols, eps);
  // The sum is stored in float32, exactly as a separate add would round it.
  assertClose(await fwd.x.read(), sum.map(Math.fround), 'x = a + b', { rtol: 0 });
  // Rounding the sum to float32 adds |x| x 6e-8 to the error of x - mean: inside the mean's term.
  const yScale = Float64Array.from(ref.y, (z, i) => Math.abs(z) + 1 + 1.5 * Math.abs(ref.mean[Math.floor(i / cols)]!) * ref.rstd[Math.floor(i / cols)]!);
  assertClose(await fwd.y.read(), ref.y, 'y', { rtol, scales: yScale, ...tol });
  assertClose(await fwd.mean.read(), ref.mean, 'mean', { rtol, scales: Float64Array.from(ref.mean, (z) => Math.abs(z) + 1), ...tol });
  assertClose(await fwd.rstd.read(), ref.rstd, 'rstd', { rtol: 1e-5, ...tol });

  const bwd = layernormBackward(fwd.x, rt.tensor(d.gamma, [cols]), fwd, rt.tensor(d.dy, [rows, cols]), { params: true });
  const rb = layernormBackwardRef(sum, d.gamma, d.dy, cols, eps);
  const dxScale = Float64Array.from(rb.dx, (_, i) => ref.rstd[Math.floor(i / cols)]! * (Math.abs(d.dy[i]! * d.gamma[i % cols]!) + 1));
  assertClose(await bwd.dx.read(), rb.dx, 'dx', { rtol: 1e-5, scales: dxScale, ...tol });
  const colScale = Float64Array.from({ length: cols }, (_, c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) {
      const xhat = (sum[r * cols + c]! - ref.mean[r]!) * ref.rstd[r]!;
      s += Math.abs(d.dy[r * cols + c]!) * (Math.abs(xhat) + 1 + 1.5 * Math.abs(ref.mean[r]!) * ref.rstd[r]!);
    }
    return s;
  });
  assertClose(await bwd.dgamma!.read(), rb.dgamma, 'dgamma', { rtol, scales: colScale, ...tol });
  assertClose(await bwd.dbeta!.read(), rb.dbeta, 'dbeta', { rtol, scales: colScale, ...tol });
}

// Each suite runs twice: a workgroup per row, and a row per invocation (CPU adapters' default).
for (const rowPerThread of [false, true]) {
const t = gpuSuite(`layernorm${rowPerThread ? ' (row per invocation)' : ''}`, { tuning: { rowPerThread } });

for (const [rows, cols, eps, offset] of [[1, 1, 1e-5, 0], [7, 33, 1e-12, 0], [33, 257, 1e-12, 0], [5, 768, 1e-12, 100], [3, 3000, 1e-5, 0]] as const) {
  t(`forward and backward, ${rows} rows x ${cols}, eps ${eps}${offset ? `, mean ${offset}` : ''}`, async ({ rt }) => {
    await checkLayernorm(rt, rows, cols, eps, { offset });
  });
}

// The vec4 kernels (forward, input and parameter backward) where cols % 4 == 0 and every
// binding of the op starts on a vec4 (inputs at element 0, 4, 8 or 12: no shift with
// lavapipe's 16-byte alignment; the suite with a 256-byte one below has them shifted), and
// the scalar ones when one input sits at an offset that is not a multiple of 4 (only the
// ops that read it), or when cols is not a multiple of 4.
for (const [rows, cols, offsets, offset] of [
  [6, 64, {}, 0], [9, 100, { x: 4, gamma: 4, beta: 4, dy: 4 }, 0], [5, 768, {}, 100], [3, 3000, { x: 8, gamma: 4, dy: 12 }, 0],
  [6, 64, { x: 1 }, 0], [6, 64, { gamma: 2 }, 0], [6, 64, { beta: 3 }, 0], [6, 64, { dy: 1 }, 0], [5, 96, { x: 3, gamma: 1, beta: 2, dy: 3 }, 100],
  [4, 30, {}, 0], [4, 30, { x: 2, dy: 2 }, 0], [3, 1001, {}, 0],
] as [number, number, Offsets, number][]) {
  const where = Object.entries(offsets).map(([k, o]) => `${k} at ${o}`).join(', ');
  t(`vec4 or scalar by cols and offsets: ${rows} rows x ${cols}${offset ? `, mean ${offset}` : ''}${where ? `, ${where}` : ''}`, async ({ rt }) => {
    await checkLayernorm(rt, rows, cols, 1e-12, { offset, offsets, rowPerThread });
  });
}

// Rows of 1 and 33 values take the scalar kernel, the others vec4 unless a binding starts off a vec4.
for (const [rows, cols, eps, offset, viewOffset] of [
  [1, 1, 1e-5, 0, 0], [7, 33, 1e-12, 0, 0], [33, 100, 1e-12, 0, 0], [5, 768, 1e-12, 100, 0], [3, 3000, 1e-5, 0, 0], [6, 64, 1e-12, 0, 1],
] as const) {
  t(`fused add + LayerNorm, ${rows} rows x ${cols}, eps ${eps}${offset ? `, mean ${offset}` : ''}${viewOffset ? ', a and gamma off a vec4' : ''}`, async ({ rt }) => {
    await checkAddLayernorm(rt, rows, cols, eps, { offset, viewOffset });
  });
}

t('fused add + LayerNorm refuses operands of different shapes', ({ rt }) => {
  const msg = thrown(() => addLayernormForward(rt.tensor(new Float32Array(6), [2, 3]), rt.tensor(new Float32Array(6), [3, 2]), rt.tensor([1, 1, 1], [3]), rt.tensor([0, 0, 0], [3]), 1e-12));
  assert.match(msg, 'addLayernormForward: tensor[2, 3] f32 and tensor[3, 2] f32 differ in shape');
});

t('gamma of the wrong size is refused', ({ rt }) => {
  const msg = thrown(() => layernormForward(rt.tensor(new Float32Array(6), [2, 3]), rt.tensor([1, 1], [2]), rt.tensor([0, 0], [2]), 1e-12));
  assert.match(msg, 'layernormForward: gamma [2] does not match the last axis of tensor[2, 3] f32');
});

t.run();

const split = gpuSuite(`layernorm split${rowPerThread ? ' (row per invocation)' : ''}`, { limits: { maxStorageBufferBindingSize: 4096, maxComputeWorkgroupsPerDimension: 2 }, tuning: { rowPerThread } });
split('rows split over launches, parameter gradients summed over blocks', async ({ rt }) => {
  const rows = 50, cols = 100, eps = 1e-12;
  const d = data(rows, cols);
  const x = rt.tensor(d.x, [rows, cols]), gamma = rt.tensor(d.gamma, [cols]);
  const fwd = layernormForward(x, gamma, rt.tensor(d.beta, [cols]), eps);
  const ref = layernormRef(d.x, d.gamma, d.beta, cols, eps);
  assertClose(await fwd.y.read(), ref.y, 'y', { rtol, atol: rtol });
  const bwd = layernormBackward(x, gamma, fwd, rt.tensor(d.dy, [rows, cols]), { params: true });
  const rb = layernormBackwardRef(d.x, d.gamma, d.dy, cols, eps);
  assertClose(await bwd.dx.read(), rb.dx, 'dx', { rtol: 1e-5, atol: 1e-5 });
  assertClose(await bwd.dgamma!.read(), rb.dgamma, 'dgamma', { rtol: 1e-5, atol: 1e-5 });
});
split('rows split over launches: vec4 and scalar kernels, inputs at element offsets', async ({ rt }) => {
  // Each block of rows is a launch of its own, which picks its kernel by its bindings.
  await checkLayernorm(rt, 50, 100, 1e-12, { rowPerThread, tol: { atol: 1e-5 } });
  await checkLayernorm(rt, 50, 100, 1e-12, { offsets: { x: 4, gamma: 8, beta: 4, dy: 12 }, rowPerThread, tol: { atol: 1e-5 } });
  await checkLayernorm(rt, 50, 100, 1e-12, { offsets: { x: 1, dy: 3 }, rowPerThread, tol: { atol: 1e-5 } });
  await checkLayernorm(rt, 40, 98, 1e-12, { rowPerThread, tol: { atol: 1e-5 } });
});
split('fused add + LayerNorm: rows split over launches (vec4 and scalar)', async ({ rt }) => {
  await checkAddLayernorm(rt, 50, 100, 1e-12, { tol: { atol: 1e-5 } });
  await checkAddLayernorm(rt, 50, 33, 1e-12, { tol: { atol: 1e-5 } });
});
split.run();

const aligned = gpuSuite(`layernorm, 256-byte binding alignment${rowPerThread ? ' (row per invocation)' : ''}`, { limits: { maxStorageBufferBindingSize: 4096, maxComputeWorkgroupsPerDimension: 2 }, tuning: { rowPerThread } });
alignBindings(aligned);
aligned('vec4 kernels through shifted bindings, rows split over launches', async ({ rt }) => {
  const tol = { atol: 1e-5 };
  await checkLayernorm(rt, 50, 100, 1e-12, { offsets: { x: 4, gamma: 8, beta: 12, dy: 20 }, rowPerThread, tol });
  await checkLayernorm(rt, 6, 64, 1e-12, { offsets: { x: 60, gamma: 4, beta: 16, dy: 32 }, offset: 100, rowPerThread, tol });
  await checkLayernorm(rt, 50, 100, 1e-12, { offsets: { x: 6, dy: 5 }, rowPerThread, tol });
  await checkLayernorm(rt, 30, 98, 1e-12, { offsets: { x: 4 }, rowPerThread, tol });
  await checkAddLayernorm(rt, 50, 100, 1e-12, { viewOffset: 4, tol });
  await checkAddLayernorm(rt, 50, 100, 1e-12, { viewOffset: 2, tol });
});
aligned.run();
}

const fd = gpuSuite('layernorm reference');
fd('float64 backward agrees with central differences', () => {
  const rows = 3, cols = 7, eps = 1e-5;
  const d = data(rows, cols);
  const w = rand.uniform(rows * cols);
  const rb = layernormBackwardRef(d.x, d.gamma, w, cols, eps);
  checkGradient((x) => dot(w, layernormRef(x, d.gamma, d.beta, cols, eps).y), d.x, rb.dx, 'dx');
  checkGradient((g) => dot(w, layernormRef(d.x, g, d.beta, cols, eps).y), d.gamma, rb.dgamma, 'dgamma');
  checkGradient((b) => dot(w, layernormRef(d.x, d.gamma, b, cols, eps).y), d.beta, rb.dbeta, 'dbeta');
});
fd.run();
