import * as assert from 'uvu/assert';
import { attentionBackward, attentionForward } from '../../src/ops/attention.js';
import { assertClose, thrown } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { checkGradient, dot } from '../helpers/gradcheck.js';
import { Random } from '../helpers/random.js';
import { attentionBackwardRef, attentionRef } from '../reference/attention.js';
import { f32 } from '../reference/elementwise.js';
import { maskBias } from '../reference/softmax.js';

const rand = new Random();

// Composed of matmul (K up to seq or headDim), softmax and a mask: values are O(1) and
// sums short, so 1e-5 relative to (|value| + 0.1) holds with margin (values may cancel to ~0).
const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) =>
  assertClose(got, want, what, { rtol: 1e-5, scales: Float64Array.from(want, (v) => Math.abs(v) + 0.1) });

const t = gpuSuite('attention');

for (const [batch, seq, heads, headDim] of [[2, 5, 3, 4], [1, 17, 2, 33], [3, 9, 4, 8]]) {
  t(`forward and backward, batch ${batch}, seq ${seq}, ${heads} heads of ${headDim}`, async ({ rt }) => {
    const hidden = heads! * headDim!, n = batch! * seq! * hidden;
    const q = f32(rand.uniform(n)), k = f32(rand.uniform(n)), v = f32(rand.uniform(n)), dOut = f32(rand.uniform(n));
    const attention = Array.from({ length: batch! * seq! }, (_, i) => (i % seq! < seq! - (Math.floor(i / seq!) % 3) ? 1 : 0));
    const bias = maskBias(attention);
    const headMask = f32(rand.uniform(heads!, 0, 1.5));
    const shape = [batch!, seq!, hidden];
    const T = (x: Float64Array) => rt.tensor(x, shape);
    const keyBias = rt.tensor(bias, [batch!, seq!]), hm = rt.tensor(headMask, [heads!]);
    const { out, saved } = attentionForward(T(q), T(k), T(v), heads!, { keyBias, headMask: hm });
    const ref = attentionRef(q, k, v, batch!, seq!, heads!, bias, headMask);
    close(await out.read(), ref.out, 'out');

    const headGrad = rt.tensor(new Float32Array(batch! * 2 * heads!), [batch!, 2, heads!]);
    const g = attentionBackward(saved, T(dOut), { headMask: hm, headMaskGrad: headGrad, layer: 1 });
    const rb = attentionBackwardRef(q, k, v, batch!, seq!, heads!, bias, headMask, dOut);
    close(await g.dq.read(), rb.dq, 'dq');
    close(await g.dk.read(), rb.dk, 'dk');
    close(await g.dv.read(), rb.dv, 'dv');
    const hg = await headGrad.read();
    // A sum over seq x headDim products that may cancel: 1e-5 of Σ|terms|.
    for (let b = 0; b < batch!; b++) {
      assertClose(hg.slice((b * 2 + 1) * heads!, (b * 2 + 2) * heads!), rb.dHead.slice(b * heads!, (b + 1) * heads!), `head mask gradient ${b}`,
        { rtol: 1e-5, scales: rb.dHeadScale.slice(b * heads!, (b + 1) * heads!) });
    }
  });
}

t('q, k, v of different shapes, and heads that do not divide hidden, are refused', ({ rt }) => {
  const a = rt.tensor(new Float32Array(12), [1, 2, 6]), b = rt.tensor(new Float32Array(12), [2, 1, 6]);
  assert.match(thrown(() => attentionForward(a, b, a, 2)), 'attention: q, k, v must share one [batch, seq, hidden] shape');
  assert.match(thrown(() => attentionForward(a, a, a, 4)), 'attention: hidden size 6 is not divisible into 4 heads');
});

t.run();

const ref = gpuSuite('attention reference');
ref('float64 backward agrees with central differences, including the head mask', () => {
  const batch = 2, seq = 3, heads = 2, hidden = 4, n = batch * seq * hidden;
  const q = rand.uniform(n), k = rand.uniform(n), v = rand.uniform(n), w = rand.uniform(n);
  const bias = maskBias([1, 1, 0, 1, 1, 1]), hm = [0.7, 1.3];
  const rb = attentionBackwardRef(q, k, v, batch, seq, heads, bias, hm, w);
  const loss = (qq: ArrayLike<number>, kk: ArrayLike<number>, vv: ArrayLike<number>, m: ArrayLike<number>) => dot(w, attentionRef(qq, kk, vv, batch, seq, heads, bias, m).out);
  checkGradient((x) => loss(x, k, v, hm), q, rb.dq, 'dq');
  checkGradient((x) => loss(q, x, v, hm), k, rb.dk, 'dk');
  checkGradient((x) => loss(q, k, x, hm), v, rb.dv, 'dv');
  // Summed over examples, the per-example head gradients are the batch's.
  checkGradient((m) => loss(q, k, v, m), hm, [rb.dHead[0]! + rb.dHead[2]!, rb.dHead[1]! + rb.dHead[3]!], 'head mask');
});
ref.run();
