import * as assert from 'uvu/assert';
import { geluBackward, geluForward, reluBackward, reluForward, tanhBackward, tanhForward } from '../../src/ops/activation.js';
import { assertClose, thrown } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { checkGradient, dot } from '../helpers/gradcheck.js';
import { Random } from '../helpers/random.js';
import { gelu, geluGrad, tanhGrad } from '../reference/activation.js';
import { f32 } from '../reference/elementwise.js';

const rand = new Random();

// Inputs cover BERT's range of pre-activations (|x| up to ~10) plus the far tails.
function inputs(n: number): Float64Array {
  const x = f32(rand.uniform(n, -10, 10));
  x.set([0, -0, 1e-30, -1e-3, 1e-3, 0.19, -0.21, 30, -30, 1e20, -1e20].slice(0, n));
  return x;
}

// The erfc fit errs by < 1.2e-7 relative, exp by a few ulp: 1e-6 relative to the value,
// plus 1e-7 of |x| for the tail where GELU underflows toward 0.
const tol = (x: Float64Array, f: (v: number) => number = gelu) => ({ rtol: 1e-6, atol: 0, scales: Float64Array.from(x, (v) => Math.abs(f(v)) + 0.1 * Math.abs(v)) });

const t = gpuSuite('activation');

t('geluForward matches exact GELU', async ({ rt }) => {
  const x = inputs(1031);
  const y = await geluForward(rt.tensor(x, [1031])).read();
  assertClose(y, x.map(gelu), 'gelu', tol(x));
});

t('geluBackward matches the exact derivative', async ({ rt }) => {
  const x = inputs(777), dy = f32(rand.uniform(777));
  const dx = await geluBackward(rt.tensor(x, [7, 111]), rt.tensor(dy, [7, 111])).read();
  assertClose(dx, x.map((v, i) => dy[i]! * geluGrad(v)), 'gelu backward', { rtol: 1e-6, atol: 1e-7 });
});

t('tanhForward is accurate near 0, at the switch, and saturates without NaN', async ({ rt }) => {
  const x = inputs(513);
  const y = await tanhForward(rt.tensor(x, [513])).read();
  assertClose(y, x.map(Math.tanh), 'tanh', { rtol: 1e-6, atol: 0 });
});

t('tanhBackward uses the forward output', async ({ rt }) => {
  const y = f32(rand.uniform(300)), dy = f32(rand.uniform(300));
  const dx = await tanhBackward(rt.tensor(y, [300]), rt.tensor(dy, [300])).read();
  assertClose(dx, y.map((v, i) => dy[i]! * tanhGrad(v)), 'tanh backward', { rtol: 1e-6, atol: 1e-7 });
});

t('relu and its gradient, exactly', async ({ rt }) => {
  const x = f32(rand.uniform(301, -2, 2)), dy = f32(rand.uniform(301));
  x[0] = 0;
  assert.equal(Array.from(await reluForward(rt.tensor(x, [301])).read()), Array.from(x, (v) => Math.max(v, 0)));
  assert.equal(Array.from(await reluBackward(rt.tensor(x, [301]), rt.tensor(dy, [301])).read()), Array.from(x, (v, i) => (v > 0 ? dy[i]! : 0)));
});

t('the vec4 and scalar widths give the same values (aligned size, and an unaligned view)', async ({ rt }) => {
  const x = inputs(1032);
  const whole = rt.tensor(x, [1032]);
  const view = whole.reshape([4, 258]).rows(1, 3); // starts at element 258: shift not a multiple of 4
  for (const [f, ref] of [[geluForward, gelu], [tanhForward, Math.tanh]] as const) {
    // Each function's tolerance is scaled by its own values: tanh is near ±1 where GELU is near 0.
    assertClose(await f(whole).read(), x.map(ref), `${f.name} vec4`, tol(x, ref));
    const part = x.slice(258, 774);
    assertClose(await f(view).read(), part.map(ref), `${f.name} scalar view`, tol(part, ref));
  }
});

t('inputs of different sizes are refused', ({ rt }) => {
  assert.match(thrown(() => geluBackward(rt.tensor([1, 2], [2]), rt.tensor([1], [1]))), 'geluBackward: tensor[1] f32 and tensor[2] f32 differ in size');
});

t.run();

const ref = gpuSuite('activation reference');
ref('float64 derivatives agree with central differences', () => {
  const x = rand.uniform(50, -6, 6), w = rand.uniform(50);
  checkGradient((p) => dot(w, p.map(gelu)), x, x.map((v, i) => w[i]! * geluGrad(v)), 'gelu');
  checkGradient((p) => dot(w, p.map(Math.tanh)), x, x.map((v, i) => w[i]! * tanhGrad(Math.tanh(v))), 'tanh');
});
ref('erf reference agrees with known values', () => {
  // GELU(x) = x Φ(x), with Φ(1) = 0.8413447460685429 and Φ(-3) = 0.001349898031630095.
  assertClose([gelu(1), gelu(-3)], [0.8413447460685429, -3 * 0.001349898031630095], 'gelu values', { rtol: 1e-12 });
});
ref.run();
