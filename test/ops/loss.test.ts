import * as assert from 'uvu/assert';
import {
  checkLabels, crossEntropyBackward, crossEntropyForward, mseBackward, mseForward, spanLossBackward, spanLossForward,
} from '../../src/ops/loss.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { assertClose, thrown } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { checkGradient, dot } from '../helpers/gradcheck.js';
import { Random } from '../helpers/random.js';
import { f32 } from '../reference/elementwise.js';
import {
  crossEntropyBackwardRef, crossEntropyRef, crossEntropyRowsRef, mseBackwardRef, mseRef, spanLossBackwardRef, spanLossRef,
} from '../reference/loss.js';

const rand = new Random();

// A loss is (max - x[label]) + log Σ exp(x - max), both terms >= 0 and so at most the loss:
// the subtraction and the final add round by 6e-8 of the loss; exp and the row sum err by
// up to ~1e-6 relative (WGSL allows exp a few ulp), which log turns into ~1e-6 absolute.
// Means add a tree sum's log2(batch) roundings. So 1e-6 relative plus 4e-6 absolute: for
// losses of order 1, under 1e-5 relative.
const lossTol = { rtol: 1e-6, atol: 4e-6 };
// Gradients (p - onehot) w: p carries exp's and the row sum's ~1e-6 relative error, the
// subtraction and w one rounding each: 4e-6 of w (p + onehot). Probabilities below
// float32's normal range (1.2e-38) may flush to 0.
const gradRtol = 4e-6;
const gradAtol = 1e-37;
// Squared error: pred - target, the square and the scale are one float32 rounding each.
const squareRtol = 2.4e-7;

const t = gpuSuite('loss');

for (const [batch, classes, offset, range] of [[1, 1, 0, 4], [7, 2, 0, 4], [33, 3, 0, 4], [257, 5, 0, 8], [4, 1000, 0, 8], [5, 33, 1000, 80]]) {
  t(`cross-entropy, ${batch} x ${classes}${offset ? `, logits ${offset} ± ${range}` : ''}`, async ({ rt }) => {
    const x = f32(rand.uniform(batch! * classes!, offset! - range!, offset! + range!));
    const labels = rand.ints(batch!, 0, classes!);
    const logits = rt.tensor(x, [batch!, classes!]), labelsT = rt.tensor(labels, [batch!], 'i32');
    const fwd = crossEntropyForward(logits, labelsT);
    const ref = crossEntropyRef(x, labels, classes!);
    assert.equal(fwd.loss.shape, [1]);
    assert.equal(fwd.losses.shape, [batch]);
    assertClose(await fwd.losses.read(), ref.losses, 'losses', lossTol);
    assertClose(await fwd.loss.read(), [ref.loss], 'loss', lossTol);
    for (const perExample of [false, true]) {
      const g = crossEntropyBackwardRef(x, labels, classes!, { perExample });
      assertClose(await crossEntropyBackward(logits, labelsT, { perExample }).read(), g.grad, `dLogits${perExample ? ' per example' : ''}`, { rtol: gradRtol, atol: gradAtol, scales: g.scale });
    }
  });
}

t('a bad label on the device makes its example NaN and reads nothing out of bounds', async ({ rt }) => {
  const x = f32(rand.uniform(4 * 3)), labels = [0, 3, -1, 2];
  const logits = rt.tensor(x, [4, 3]), labelsT = rt.tensor(labels, [4], 'i32');
  const fwd = crossEntropyForward(logits, labelsT);
  const losses = await fwd.losses.read();
  assert.ok(Number.isNaN(losses[1]) && Number.isNaN(losses[2]), 'bad examples are NaN');
  assert.ok(Number.isNaN((await fwd.loss.read())[0]), 'the batch loss is NaN');
  const good = crossEntropyRowsRef(x, [0, 0, 0, 2], 3).losses;
  assertClose([losses[0]!, losses[3]!], [good[0]!, good[3]!], 'good examples', lossTol);
  const dx = await crossEntropyBackward(logits, labelsT).read();
  assert.ok(dx.slice(3, 9).every(Number.isNaN), 'bad rows of dLogits are NaN');
  const g = crossEntropyBackwardRef(x, [0, 0, 0, 2], 3);
  assertClose([...dx.slice(0, 3), ...dx.slice(9)], [...g.grad.slice(0, 3), ...g.grad.slice(9)], 'good rows', { rtol: gradRtol, atol: gradAtol, scales: [...g.scale.slice(0, 3), ...g.scale.slice(9)] });
});

t('checkLabels names the first bad label', () => {
  checkLabels(Int32Array.from([0, 2, 1]), 3);
  assert.match(thrown(() => checkLabels(Int32Array.from([0, 2, 3, -1]), 3)), 'labels: label 3 of example 2 is outside the 3 classes [0, 3)');
  assert.match(thrown(() => checkLabels([0, 1.5], 3, 'sst2 labels')), 'sst2 labels: label 1.5 of example 1');
});

for (const [batch, column] of [[1, false], [7, true], [257, false]] as const) {
  t(`mean squared error, batch ${batch}${column ? ', pred [batch, 1]' : ''}`, async ({ rt }) => {
    const p = f32(rand.uniform(batch, -2, 6)), y = f32(rand.uniform(batch, 0, 5));
    const pred = rt.tensor(p, column ? [batch, 1] : [batch]), target = rt.tensor(y, [batch]);
    const fwd = mseForward(pred, target);
    const ref = mseRef(p, y);
    assertClose(await fwd.losses.read(), ref.losses, 'losses', { rtol: squareRtol });
    assertClose(await fwd.loss.read(), [ref.loss], 'loss', { rtol: 1e-6 });
    for (const perExample of [false, true]) {
      const dPred = mseBackward(pred, target, { perExample });
      assert.equal(dPred.shape, pred.shape);
      assertClose(await dPred.read(), mseBackwardRef(p, y, { perExample }), `dPred${perExample ? ' per example' : ''}`, { rtol: squareRtol });
    }
  });
}

async function checkSpan(rt: Runtime, batch: number, seq: number, startPositions: ArrayLike<number>, endPositions: ArrayLike<number>): Promise<void> {
  const s = f32(rand.uniform(batch * seq, -6, 6)), e = f32(rand.uniform(batch * seq, -6, 6));
  const st = rt.tensor(s, [batch, seq]), et = rt.tensor(e, [batch, seq]);
  const sp = rt.tensor(startPositions, [batch], 'i32'), ep = rt.tensor(endPositions, [batch], 'i32');
  const fwd = spanLossForward(st, et, sp, ep);
  const ref = spanLossRef(s, e, startPositions, endPositions, seq);
  assertClose(await fwd.losses.read(), ref.losses, 'losses', lossTol);
  const loss = (await fwd.loss.read())[0]!;
  if (Number.isNaN(ref.loss)) assert.ok(Number.isNaN(loss), `loss ${loss} is NaN when every start or end is ignored`);
  else assertClose([loss], [ref.loss], 'loss', lossTol);
  for (const perExample of [false, true]) {
    const got = spanLossBackward(st, et, sp, ep, { perExample });
    const g = spanLossBackwardRef(s, e, startPositions, endPositions, seq, { perExample });
    const what = perExample ? ' per example' : '';
    assertClose(await got.dStart.read(), g.dStart.grad, `dStart${what}`, { rtol: gradRtol, atol: gradAtol, scales: g.dStart.scale });
    assertClose(await got.dEnd.read(), g.dEnd.grad, `dEnd${what}`, { rtol: gradRtol, atol: gradAtol, scales: g.dEnd.scale });
  }
}

t('span loss, 1 x 1', ({ rt }) => checkSpan(rt, 1, 1, [0], [0]));
t('span loss, 7 x 33, positions past the end ignored and negative ones clamped to 0', ({ rt }) =>
  // Starts: 2 ignored (33, 40), -2 clamps to 0; ends: 1 ignored: the halves divide by 5 and 6.
  checkSpan(rt, 7, 33, [3, 33, 0, -2, 40, 32, 17], [5, 33, 32, 0, 12, 20, 17]));
t('span loss, 3 x 257', ({ rt }) => checkSpan(rt, 3, 257, rand.ints(3, 0, 257), [256, 0, 100]));
t('span loss with every start ignored is NaN, its gradient 0', ({ rt }) => checkSpan(rt, 2, 5, [5, 9], [1, 2]));

t('misuse is refused with the tensors named', ({ rt }) => {
  const logits = rt.tensor(new Float32Array(12), [4, 3]), labels = rt.tensor([0, 1, 2, 0], [4], 'i32');
  assert.match(thrown(() => crossEntropyForward(logits, rt.tensor([0, 1, 2, 0], [4]))), 'crossEntropyForward: labels must be i32, got tensor[4] f32');
  assert.match(thrown(() => crossEntropyForward(logits, rt.tensor([0, 1, 2], [3], 'i32'))), 'crossEntropyForward: labels [3] is not [4], one per row of logits');
  assert.match(thrown(() => crossEntropyBackward(rt.tensor(new Float32Array(12), [12]), labels)), 'crossEntropyBackward: logits [12] is not [batch >= 1, classes >= 1]');
  assert.match(thrown(() => crossEntropyForward(rt.tensor(new Int32Array(12), [4, 3], 'i32'), labels)), 'crossEntropyForward: logits must be f32');
  assert.match(thrown(() => mseForward(rt.tensor(new Float32Array(8), [4, 2]), rt.tensor(new Float32Array(4), [4]))), 'mseForward: pred [4, 2] is not [batch >= 1] or [batch, 1]');
  assert.match(thrown(() => mseBackward(rt.tensor(new Float32Array(4), [4]), rt.tensor(new Float32Array(3), [3]))), 'mseBackward: target [3] is not [4], one per prediction');
  assert.match(thrown(() => mseForward(rt.tensor(new Float32Array(4), [4]), labels)), 'mseForward: target must be f32');
  assert.match(thrown(() => spanLossForward(logits, rt.tensor(new Float32Array(8), [4, 2]), labels, labels)), 'spanLossForward: endLogits [4, 2] do not match startLogits [4, 3]');
  assert.match(thrown(() => spanLossBackward(logits, logits, labels, rt.tensor([0, 1], [2], 'i32'))), 'spanLossBackward: endPositions [2] is not [4], one per row of endLogits');
});

t.run();

// 4 KiB bindings and 3 workgroups a dimension: 9 rows a launch at most.
const split = gpuSuite('loss split', { limits: { maxStorageBufferBindingSize: 4096, maxComputeWorkgroupsPerDimension: 3 } });
split('cross-entropy rows split over launches', async ({ rt }) => {
  const batch = 40, classes = 100;
  const x = f32(rand.uniform(batch * classes, -4, 4)), labels = rand.ints(batch, 0, classes);
  const logits = rt.tensor(x, [batch, classes]), labelsT = rt.tensor(labels, [batch], 'i32');
  const fwd = crossEntropyForward(logits, labelsT), ref = crossEntropyRef(x, labels, classes);
  assertClose(await fwd.losses.read(), ref.losses, 'losses', lossTol);
  assertClose(await fwd.loss.read(), [ref.loss], 'loss', lossTol);
  const g = crossEntropyBackwardRef(x, labels, classes);
  assertClose(await crossEntropyBackward(logits, labelsT).read(), g.grad, 'dLogits', { rtol: gradRtol, atol: gradAtol, scales: g.scale });
});
split('span loss over 3 rows of 300 a launch counts ignored positions over the whole batch', ({ rt }) => {
  const starts = [...rand.ints(20, 0, 300)], ends = [...rand.ints(20, 0, 300)];
  starts[3] = 300; starts[17] = 1000; ends[0] = 300;
  return checkSpan(rt, 20, 300, starts, ends);
});
split('a batch of losses larger than one binding is refused', ({ rt }) => {
  const n = 2000;
  assert.match(thrown(() => mseForward(rt.tensor(new Float32Array(n), [n]), rt.tensor(new Float32Array(n), [n]))), 'mseForward: 2000 per-example losses are more than one storage binding holds');
  assert.match(thrown(() => crossEntropyForward(rt.tensor(new Float32Array(n), [n, 1]), rt.tensor(new Int32Array(n), [n], 'i32'))), 'crossEntropyForward: 2000 labels are more than one storage binding holds');
});
split.run();

const ref = gpuSuite('loss reference');
/** Row b of a per-example gradient scaled by w[b]: the gradient of Σ w_b loss_b. */
const weighRows = (g: Float64Array, w: ArrayLike<number>, cols: number) => g.map((v, i) => v * w[Math.floor(i / cols)]!);

ref('float64 cross-entropy backward agrees with central differences', () => {
  const batch = 4, classes = 5, x = rand.uniform(batch * classes, -3, 3), labels = rand.ints(batch, 0, classes), w = rand.uniform(batch);
  checkGradient((p) => crossEntropyRef(p, labels, classes).loss, x, crossEntropyBackwardRef(x, labels, classes).grad, 'mean');
  const perExample = crossEntropyBackwardRef(x, labels, classes, { perExample: true }).grad;
  checkGradient((p) => dot(w, crossEntropyRef(p, labels, classes).losses), x, weighRows(perExample, w, classes), 'per example');
});
ref('float64 mean squared error backward agrees with central differences', () => {
  const p = rand.uniform(6), y = rand.uniform(6), w = rand.uniform(6);
  checkGradient((q) => mseRef(q, y).loss, p, mseBackwardRef(p, y), 'mean');
  checkGradient((q) => dot(w, mseRef(q, y).losses), p, weighRows(mseBackwardRef(p, y, { perExample: true }), w, 1), 'per example');
});
ref('float64 span loss backward agrees with central differences, ignored positions included', () => {
  const batch = 4, seq = 5, s = rand.uniform(batch * seq, -3, 3), e = rand.uniform(batch * seq, -3, 3), w = rand.uniform(batch);
  const sp = [1, 5, -1, 4], ep = [0, 2, 7, 3];
  const mean = spanLossBackwardRef(s, e, sp, ep, seq), each = spanLossBackwardRef(s, e, sp, ep, seq, { perExample: true });
  checkGradient((p) => spanLossRef(p, e, sp, ep, seq).loss, s, mean.dStart.grad, 'mean, start');
  checkGradient((p) => spanLossRef(s, p, sp, ep, seq).loss, e, mean.dEnd.grad, 'mean, end');
  checkGradient((p) => dot(w, spanLossRef(p, e, sp, ep, seq).losses), s, weighRows(each.dStart.grad, w, seq), 'per example, start');
  checkGradient((p) => dot(w, spanLossRef(s, p, sp, ep, seq).losses), e, weighRows(each.dEnd.grad, w, seq), 'per example, end');
});
ref.run();
