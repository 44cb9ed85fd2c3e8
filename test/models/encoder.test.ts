import * as assert from 'uvu/assert';
import { Tape, encoderLayerBackward, encoderLayerForward, type EncoderLayer } from '../../src/models/encoder.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { Tensor } from '../../src/runtime/tensor.js';
import { assertClose } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { dot } from '../helpers/gradcheck.js';
import { Random } from '../helpers/random.js';
import { f32 } from '../reference/elementwise.js';
import { encoderLayerRef, randomLayer, type LayerRef } from '../reference/encoder.js';
import { maskBias } from '../reference/softmax.js';

const rand = new Random();
const batch = 3, seq = 6, hidden = 8, heads = 2, inter = 12, layers = 2, eps = 1e-12;

function upload(rt: Runtime, l: LayerRef): EncoderLayer {
  const T = (a: Float64Array, shape: number[]) => rt.tensor(a, shape);
  const lin = (w: Float64Array, b: Float64Array, o: number, i: number) => ({ weight: T(w, [o, i]), bias: T(b, [o]) });
  return {
    query: lin(l.wq, l.bq, hidden, hidden), key: lin(l.wk, l.bk, hidden, hidden), value: lin(l.wv, l.bv, hidden, hidden),
    attentionOutput: lin(l.wo, l.bo, hidden, hidden), attentionNorm: { gamma: T(l.g1, [hidden]), beta: T(l.b1n, [hidden]) },
    intermediate: lin(l.w1, l.b1, inter, hidden), output: lin(l.w2, l.b2, hidden, inter), outputNorm: { gamma: T(l.g2, [hidden]), beta: T(l.b2n, [hidden]) },
  };
}

const x0 = f32(rand.uniform(batch * seq * hidden, -2, 2));
const attention = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0];
const bias = maskBias(attention);
const weights = Array.from({ length: layers }, () => randomLayer(rand, hidden, inter));
const headMask = f32(rand.uniform(layers * heads, 0.5, 1.5));
const neuronMask = f32(rand.uniform(layers * inter, 0.5, 1.5));
const readout = rand.uniform(batch * seq * hidden);

/** Float64 model output, and the loss Σ readout ⊙ output restricted to `examples`. */
function modelRef(hm: ArrayLike<number>, nm: ArrayLike<number>): Float64Array {
  let h: Float64Array = x0;
  for (let l = 0; l < layers; l++) {
    h = encoderLayerRef(h, weights[l]!, batch, seq, heads, eps, bias,
      Array.from(hm).slice(l * heads, (l + 1) * heads), Array.from(nm).slice(l * inter, (l + 1) * inter));
  }
  return h;
}
const lossRef = (hm: ArrayLike<number>, nm: ArrayLike<number>, example: number) => {
  const out = modelRef(hm, nm), per = seq * hidden;
  return dot(readout.slice(example * per, (example + 1) * per), out.slice(example * per, (example + 1) * per));
};

const t = gpuSuite('encoder');

t('a 2-layer encoder with masks: outputs, and per-example mask gradients against central differences of the float64 loss', async ({ rt }) => {
  const ws = weights.map((l) => upload(rt, l));
  const keyBias = rt.tensor(bias, [batch, seq]);
  const hms: Tensor[] = [], nms: Tensor[] = [];
  for (let l = 0; l < layers; l++) {
    hms.push(rt.tensor(headMask.slice(l * heads, (l + 1) * heads), [heads]));
    nms.push(rt.tensor(neuronMask.slice(l * inter, (l + 1) * inter), [inter]));
  }
  let h = rt.tensor(x0, [batch, seq, hidden]);
  const tape = new Tape();
  for (let l = 0; l < layers; l++) h = encoderLayerForward(h, ws[l]!, { heads, eps }, { keyBias, headMask: hms[l]!, neuronMask: nms[l]! }, tape);
  const ref = modelRef(headMask, neuronMask);
  // Two layers of float32 matmuls, softmax and LayerNorm over 8-12 values: 2e-5 of |v| + 0.1.
  assertClose(await h.read(), ref, 'output', { rtol: 2e-5, scales: ref.map((v) => Math.abs(v) + 0.1) });

  const headGrad = rt.tensor(new Float32Array(batch * layers * heads), [batch, layers, heads]);
  const neuronGrad = rt.tensor(new Float32Array(batch * layers * inter), [batch, layers, inter]);
  let d = rt.tensor(readout, [batch, seq, hidden]);
  for (let l = layers - 1; l >= 0; l--) {
    d = encoderLayerBackward(tape.layers[l]!, d, ws[l]!, { keyBias, headMask: hms[l]!, neuronMask: nms[l]! }, { head: headGrad, neuron: neuronGrad, layer: l });
  }
  const hg = await headGrad.read(), ng = await neuronGrad.read();

  // Central differences of each example's float64 loss, h = 1e-4: the masks enter smoothly,
  // the difference's error (~h² and 1e-16/h) is far below float32's ~1e-6 relative.
  const fd = (mask: Float64Array, i: number, lossOf: (m: Float64Array) => number) => {
    const m = Float64Array.from(mask), h = 1e-4;
    m[i] = mask[i]! + h; const up = lossOf(m);
    m[i] = mask[i]! - h; const down = lossOf(m);
    return (up - down) / (2 * h);
  };
  for (let b = 0; b < batch; b++) {
    const gotHead = Array.from({ length: layers * heads }, (_, j) => hg[b * layers * heads + j]!);
    const wantHead = Array.from({ length: layers * heads }, (_, j) => fd(headMask, j, (m) => lossRef(m, neuronMask, b)));
    assertClose(gotHead, wantHead, `head mask gradient, example ${b}`, { rtol: 1e-4, atol: 1e-5 });
    const gotNeuron = Array.from({ length: layers * inter }, (_, j) => ng[b * layers * inter + j]!);
    const wantNeuron = Array.from({ length: layers * inter }, (_, j) => fd(neuronMask, j, (m) => lossRef(headMask, m, b)));
    assertClose(gotNeuron, wantNeuron, `neuron mask gradient, example ${b}`, { rtol: 1e-4, atol: 1e-5 });
  }
  assert.ok(hg.some((v) => Math.abs(v) > 1e-3), 'gradients are not trivially zero');
});

t.run();
