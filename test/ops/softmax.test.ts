import * as assert from 'uvu/assert';
import { softmaxBackward, softmaxForward } from '../../src/ops/softmax.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { assertClose, thrown } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { alignBindings, at, launching } from '../helpers/kernels.js';
import { checkGradient, dot } from '../helpers/gradcheck.js';
import { Random } from '../helpers/random.js';
import { f32 } from '../reference/elementwise.js';
import { maskBias, softmaxBackwardRef, softmaxRef } from '../reference/softmax.js';

const rand = new Random();
// exp in float32 errs by a few ulp and the row sum by ~log2(cols) roundings: 2e-6 relative
// per probability, with 1e-9 absolute for probabilities near zero.
const tol = { rtol: 2e-6, atol: 1e-9 };


/** Element offsets at which the inputs are placed (views into larger buffers). */
interface Offsets { x?: number; bias?: number; dy?: number }

interface SoftmaxCase {
  /** Batches of the key mask (each with some keys padded), or none for no mask. */
  batches?: number;
  scale?: number;
  offsets?: Offsets;
  /** Given: also check that each op launched the variant it should (vec4 when cols % 4 == 0 and its inputs allow). */
  rowPerThread?: boolean;
  /** Inputs, instead of uniform in [-8, 8). */
  x?: Float64Array;
  /** The mask, instead of a random one. */
  attention?: number[];
}

/**
 * softmaxForward (scaled, masked when `batches` is given) and softmaxBackward against the
 * float64 references, inputs placed at `offsets`; padded keys must get exactly 0.
 */
async function checkSoftmax(rt: Runtime, rows: number, cols: number, c: SoftmaxCase = {}) {
  const { batches, scale = 0.125, offsets = {}, rowPerThread } = c;
  const x = f32(c.x ?? rand.uniform(rows * cols, -8, 8)), dy = f32(rand.uniform(rows * cols));
  // Batch b pads its last (1 + 5b) % cols keys.
  const attention = c.attention ?? (batches ? Array.from({ length: batches * cols }, (_, i) => (i % cols < cols - ((1 + 5 * Math.floor(i / cols)) % cols) ? 1 : 0)) : undefined);
  const bias = attention ? maskBias(attention) : undefined;
  const { result: yT, kernels: fwdKernels } = launching(rt, () => softmaxForward(at(rt, x, [rows, cols], offsets.x ?? 0), {
    scale, ...(bias ? { bias: at(rt, bias, [batches!, cols], offsets.bias ?? 0) } : {}),
  }));
  const yRef = softmaxRef(x, cols, scale, bias);
  const y = await yT.read();
  assertClose(y, yRef, 'y', tol);
  if (attention) {
    for (let r = 0; r < rows; r++) {
      const b = Math.floor(r / (rows / batches!));
      const padded = attention.slice(b * cols, (b + 1) * cols).every((a) => !a);
      for (let k = 0; k < cols; k++) if (!attention[b * cols + k] && !padded) assert.is(y[r * cols + k], 0, `row ${r}, padded key ${k}`);
    }
  }
  const { result: dx, kernels: bwdKernels } = launching(rt, () => softmaxBackward(yT, at(rt, dy, [rows, cols], offsets.dy ?? 0), { scale }));
  // dx = scale y (dy - Σ dy y): its rounding is relative to scale y (|dy| + Σ |dy| y), which
  // |dx| falls far below where dy is close to the row's Σ dy y.
  const dxScale = Float64Array.from(yRef, (v, i) => {
    const r = Math.floor(i / cols);
    let s = 0;
    for (let k = r * cols; k < (r + 1) * cols; k++) s += Math.abs(dy[k]!) * yRef[k]!;
    return Math.abs(scale) * v * (Math.abs(dy[i]!) + s);
  });
  assertClose(await dx.read(), softmaxBackwardRef(yRef, dy, cols, scale), 'dx', { rtol: 1e-5, atol: 1e-9, scales: dxScale });

  if (rowPerThread === undefined) return;
  const aligned = (...names: (keyof Offsets)[]) => cols % 4 === 0 && names.every((n) => (offsets[n] ?? 0) % 4 === 0);
  const only = (ks: string[], base: string) => [...new Set(ks.filter((k) => k.startsWith(`${base}[`) || k === base))];
  const fwdVec4 = aligned('x', ...(bias ? ['bias' as const] : []));
  assert.equal(only(fwdKernels, 'softmaxForward'), [`softmaxForward${bias ? '[bias]' : ''}${fwdVec4 ? '[vec4]' : ''}${rowPerThread ? '[row]' : ''}`], 'forward kernel');
  assert.equal(only(bwdKernels, 'softmaxBackward'), [`softmaxBackward${aligned('dy') ? '[vec4]' : ''}${rowPerThread ? '[row]' : ''}`], 'backward kernel');
}

// Each suite runs twice: a workgroup per row, and a row per invocation (CPU adapters' default).
for (const rowPerThread of [false, true]) {
const t = gpuSuite(`softmax${rowPerThread ? ' (row per invocation)' : ''}`, { tuning: { rowPerThread } });

for (const [rows, cols] of [[1, 1], [7, 33], [3, 257], [12, 128], [2, 1000]]) {
  t(`forward and backward ${rows} x ${cols}`, async ({ rt }) => {
    const x = f32(rand.uniform(rows! * cols!, -8, 8)), dy = f32(rand.uniform(rows! * cols!));
    const y = softmaxForward(rt.tensor(x, [rows!, cols!]), { scale: 0.125 });
    const yRef = softmaxRef(x, cols!, 0.125);
    assertClose(await y.read(), yRef, 'y', tol);
    const dx = softmaxBackward(y, rt.tensor(dy, [rows!, cols!]), { scale: 0.125 });
    // dx = y (dy - Σ dy y): relative to y (|dy| + Σ|dy| y).
    assertClose(await dx.read(), softmaxBackwardRef(yRef, dy, cols!, 0.125), 'dx', { rtol: 1e-5, atol: 1e-9 });
  });
}

t('padded keys get probability 0, and rows of a batch share its mask', async ({ rt }) => {
  const batch = 2, heads = 3, seq = 5;
  const attention = [1, 1, 1, 0, 0, 1, 1, 1, 1, 1];
  const x = f32(rand.uniform(batch * heads * seq * seq, -4, 4));
  const bias = maskBias(attention);
  const y = await softmaxForward(rt.tensor(x, [batch, heads, seq, seq]), { scale: 0.5, bias: rt.tensor(bias, [batch, seq]) }).read();
  assertClose(y, softmaxRef(x, seq, 0.5, bias), 'masked y', tol);
  for (let r = 0; r < heads * seq; r++) assert.equal([y[r * seq + 3], y[r * seq + 4]], [0, 0]);
});

// The vec4 kernels where cols % 4 == 0 and every binding of the op starts on a vec4 (at
// element 0 or 4: no shift with lavapipe's 16-byte alignment; the suite with a 256-byte one
// below has them shifted); the scalar ones when one input sits at an offset that is not a
// multiple of 4 (only the ops that read it), or cols is not a multiple of 4. Rows of 36
// and 128 are shorter than a workgroup (64) in vec4s, rows of 1000 longer.
for (const [rows, cols, batches, offsets] of [
  [12, 128, 3, {}], [24, 128, 2, { x: 4, bias: 8, dy: 12 }], [4, 1000, 2, {}], [6, 36, undefined, {}], [6, 36, undefined, { x: 4, dy: 4 }],
  [6, 36, 3, { x: 1 }], [6, 36, 3, { bias: 2 }], [6, 36, 3, { dy: 3 }], [6, 36, undefined, { x: 2 }], [9, 8, 3, { x: 3, bias: 1, dy: 2 }],
  [5, 33, 5, {}], [8, 6, 2, { x: 4, bias: 4 }], [3, 1002, undefined, {}],
] as [number, number, number | undefined, Offsets][]) {
  const where = Object.entries(offsets).map(([k, o]) => `${k} at ${o}`).join(', ');
  t(`vec4 or scalar by cols and offsets: ${rows} x ${cols}${batches ? `, mask of ${batches} batches` : ''}${where ? `, ${where}` : ''}`, async ({ rt }) => {
    await checkSoftmax(rt, rows, cols, { ...(batches ? { batches } : {}), offsets, rowPerThread });
  });
}

// The first pass keeps a running max per lane and rescales its sum when the max grows: rows
// that rise all the way grow it at every element, rows that fall never do.
for (const cols of [128, 1000, 35]) {
  t(`rows that rise and fall steadily, ${cols} columns`, async ({ rt }) => {
    const ramp = (r: number, k: number) => (r % 2 ? 1 : -1) * (-8 + (16 * k) / cols) + 0.01 * r;
    const x = Float64Array.from({ length: 6 * cols }, (_, i) => ramp(Math.floor(i / cols), i % cols));
    await checkSoftmax(rt, 6, cols, { x, scale: 1, rowPerThread });
  });
}

t('a sequence with every key padded gets uniform probabilities, as the reference', async ({ rt }) => {
  for (const cols of [8, 7]) {
    const attention = Array.from({ length: 2 * cols }, (_, i) => (i < cols ? 1 : 0));
    await checkSoftmax(rt, 6, cols, { batches: 2, attention, rowPerThread });
  }
});

t('a bias that does not divide the rows is refused', ({ rt }) => {
  const msg = thrown(() => softmaxForward(rt.tensor(new Float32Array(12), [3, 4]), { bias: rt.tensor(new Float32Array(8), [2, 4]) }));
  assert.match(msg, 'softmaxForward: bias [2, 4] is not [batches, 4] with batches dividing the 3 rows');
});

t.run();

const split = gpuSuite(`softmax split${rowPerThread ? ' (row per invocation)' : ''}`, { limits: { maxStorageBufferBindingSize: 4096, maxComputeWorkgroupsPerDimension: 2 }, tuning: { rowPerThread } });
split('rows split over launches keep their batch of the mask', async ({ rt }) => {
  const batch = 3, rowsPer = 40, cols = 20;
  const x = f32(rand.uniform(batch * rowsPer * cols, -4, 4));
  const bias = maskBias(Array.from({ length: batch * cols }, (_, i) => (i % cols < 5 + 5 * Math.floor(i / cols) ? 1 : 0)));
  const y = await softmaxForward(rt.tensor(x, [batch, rowsPer, cols]), { bias: rt.tensor(bias, [batch, cols]) }).read();
  assertClose(y, softmaxRef(x, cols, 1, bias), 'split y', tol);
});
split('rows split over launches: vec4 and scalar kernels, inputs at element offsets, forward and backward', async ({ rt }) => {
  // Each block of rows is a launch of its own, which picks its kernel by its bindings.
  await checkSoftmax(rt, 120, 20, { batches: 3, rowPerThread });
  await checkSoftmax(rt, 120, 20, { batches: 3, offsets: { x: 4, bias: 12, dy: 8 }, rowPerThread });
  await checkSoftmax(rt, 120, 20, { batches: 3, offsets: { x: 1, dy: 2 }, rowPerThread });
  await checkSoftmax(rt, 120, 20, { batches: 3, offsets: { bias: 3 }, rowPerThread });
  await checkSoftmax(rt, 120, 18, { batches: 4, rowPerThread });
  await checkSoftmax(rt, 60, 40, { rowPerThread });
});
split.run();

const aligned = gpuSuite(`softmax, 256-byte binding alignment${rowPerThread ? ' (row per invocation)' : ''}`, { limits: { maxStorageBufferBindingSize: 4096, maxComputeWorkgroupsPerDimension: 2 }, tuning: { rowPerThread } });
alignBindings(aligned);
aligned('vec4 kernels through shifted bindings, rows split over launches', async ({ rt }) => {
  await checkSoftmax(rt, 120, 20, { batches: 3, offsets: { x: 4, bias: 12, dy: 8 }, rowPerThread });
  await checkSoftmax(rt, 12, 128, { batches: 2, offsets: { x: 60, bias: 4, dy: 16 }, rowPerThread });
  await checkSoftmax(rt, 60, 40, { offsets: { x: 32, dy: 4 }, rowPerThread });
  await checkSoftmax(rt, 120, 20, { batches: 3, offsets: { x: 6, bias: 2, dy: 1 }, rowPerThread });
});
aligned.run();
}

const ref = gpuSuite('softmax reference');
ref('float64 backward agrees with central differences', () => {
  const cols = 6, x = rand.uniform(18), w = rand.uniform(18);
  const bias = maskBias([1, 1, 0, 1, 1, 1]);
  const y = softmaxRef(x, cols, 0.7, bias);
  // Only unmasked logits move the output; masked ones have zero gradient either way.
  checkGradient((p) => dot(w, softmaxRef(p, cols, 0.7, bias)), x, softmaxBackwardRef(y, w, cols, 0.7), 'softmax');
});
ref.run();
