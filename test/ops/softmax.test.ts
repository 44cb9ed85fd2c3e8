import * as assert from 'uvu/assert';
import { softmaxBackward, softmaxForward } from '../../src/ops/softmax.js';
import { assertClose, thrown } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { checkGradient, dot } from '../helpers/gradcheck.js';
import { Random } from '../helpers/random.js';
import { f32 } from '../reference/elementwise.js';
import { maskBias, softmaxBackwardRef, softmaxRef } from '../reference/softmax.js';

const rand = new Random();
// exp in float32 errs by a few ulp and the row sum by ~log2(cols) roundings: 2e-6 relative
// per probability, with 1e-9 absolute for probabilities near zero.
const tol = { rtol: 2e-6, atol: 1e-9 };

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
split.run();
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
