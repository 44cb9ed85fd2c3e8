import * as assert from 'uvu/assert';
import { headNormalEquations, neuronNormalEquations } from '../../src/ops/gram.js';
import { assertClose, thrown } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { f32 } from '../reference/elementwise.js';
import { normalRef } from '../reference/gram.js';

const rand = new Random();

// Sums over tokens x hidden (a few thousand products) in float32, composed of two
// roundings of products: 5e-6 of Σ|terms|.
const rtol = 5e-6;

const t = gpuSuite('gram');

t('neuron normal equations equal those of the explicit A', async ({ rt }) => {
  const tokens = 13, k = 7, hidden = 9;
  const act = f32(rand.uniform(tokens * k)), w2 = f32(rand.uniform(k * hidden)), target = f32(rand.uniform(tokens * hidden));
  // A[(t, d), n] = act[t, n] * w2[n, d]
  const A = new Float64Array(tokens * hidden * k);
  for (let tk = 0; tk < tokens; tk++) for (let d = 0; d < hidden; d++) for (let n = 0; n < k; n++) A[(tk * hidden + d) * k + n] = act[tk * k + n]! * w2[n * hidden + d]!;
  const ref = normalRef(A, target, k);
  const got = neuronNormalEquations(rt.tensor(act, [tokens, k]), rt.tensor(w2, [k, hidden]), rt.tensor(target, [tokens, hidden]));
  assertClose(await got.ata.read(), ref.ata, 'AᵀA', { rtol, scales: ref.ataScale });
  assertClose(await got.atb.read(), ref.atb, 'Aᵀb', { rtol, scales: ref.atbScale });
});

t('head normal equations equal those of the explicit A', async ({ rt }) => {
  const tokens = 11, heads = 3, headDim = 5, hidden = 8;
  const ctx = f32(rand.uniform(tokens * heads * headDim)), wo = f32(rand.uniform(hidden * heads * headDim)), target = f32(rand.uniform(tokens * hidden));
  // A[(t, d), h] = Σ_c ctx[t, h, c] * wo[d, h * headDim + c]
  const A = new Float64Array(tokens * hidden * heads);
  for (let tk = 0; tk < tokens; tk++) for (let d = 0; d < hidden; d++) for (let h = 0; h < heads; h++) {
    let s = 0;
    for (let c = 0; c < headDim; c++) s += ctx[(tk * heads + h) * headDim + c]! * wo[d * heads * headDim + h * headDim + c]!;
    A[(tk * hidden + d) * heads + h] = s;
  }
  const ref = normalRef(A, target, heads);
  const got = headNormalEquations(rt.tensor(ctx, [tokens, heads, headDim]), rt.tensor(wo, [hidden, heads * headDim]), rt.tensor(target, [tokens, hidden]));
  assertClose(await got.ata.read(), ref.ata, 'AᵀA', { rtol: 2e-5, scales: ref.ataScale });
  assertClose(await got.atb.read(), ref.atb, 'Aᵀb', { rtol: 2e-5, scales: ref.atbScale });
});

t('mismatched shapes are refused', ({ rt }) => {
  const msg = thrown(() => neuronNormalEquations(rt.tensor(new Float32Array(6), [2, 3]), rt.tensor(new Float32Array(8), [4, 2]), rt.tensor(new Float32Array(4), [2, 2])));
  assert.match(msg, 'neuronNormalEquations: expected act [tokens, k], w2 [k, hidden], target [tokens, hidden], got [2, 3], [4, 2], [2, 2]');
});

t.run();

