import * as assert from 'uvu/assert';
import { EncoderModel } from '../../src/models/model.js';
import { assertClose } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { spanLossRef } from '../reference/loss.js';
import { makeCheckpoint, prunedFields, smallConfig } from '../reference/model.js';

const rand = new Random();

const configFor = (architecture: string, labels = 3) => smallConfig(architecture, { num_labels: labels });

const batch = 3, seq = 7;
const ids = [2, 11, 12, 13, 3, 0, 0, 2, 14, 15, 16, 17, 18, 3, 2, 19, 3, 0, 0, 0, 0];
const mask = ids.map((v, i) => (v !== 0 || i % seq === 0 ? 1 : 0));
const types = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const labels = [2, 0, 1], targets = [0.5, -1, 2];

const g = gpuSuite('model mask gradients');

for (const [arch, numLabels] of [['BertForSequenceClassification', 3], ['BertForSequenceClassification', 1], ['DistilBertForSequenceClassification', 2], ['RobertaForSequenceClassification', 3]] as const) {
  g(`${arch} (${numLabels === 1 ? 'regression' : `${numLabels} classes`}): per-example mask gradients against central differences of the float64 loss`, async ({ rt }) => {
    const config = configFor(arch, numLabels);
    const roberta = config.modelType === 'roberta';
    const rIds = roberta ? ids.map((v) => (v === 0 ? 1 : v === 2 ? 0 : v)) : ids;
    const useTypes = config.modelType === 'bert' ? types : undefined;
    const { source, forward } = makeCheckpoint(rand, config);
    const model = await EncoderModel.load(rt, config, source);
    const b = { batch, seq, inputIds: Int32Array.from(rIds), attentionMask: Int32Array.from(mask), ...(useTypes ? { tokenTypeIds: Int32Array.from(useTypes) } : {}) };
    const regression = numLabels === 1;
    const out = model.maskGradients(b, regression ? { targets: Float32Array.from(targets) } : { labels: Int32Array.from(labels.map((l) => l % numLabels)) });
    const [hg, ng, losses] = await Promise.all([out.head.read(), out.neuron.read(), out.losses.read()]);
    assert.equal(out.head.shape, [batch, 2, 3]);
    assert.equal(out.neuron.shape, [batch, 2, 10]);

    // Each example's float64 loss under masks; central differences with h = 1e-4 err by
    // ~h² and 1e-16/h, far below float32's ~1e-6 relative.
    const lossesOf = (head: number[][], neuron: number[][]) => {
      const z = forward(rIds, mask, useTypes, batch, seq, head, neuron).logits!;
      return Array.from({ length: batch }, (_, i) => {
        if (regression) return (z[i]! - targets[i]!) ** 2;
        const row = Array.from(z.slice(i * numLabels, (i + 1) * numLabels));
        const max = Math.max(...row);
        return max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) - row[labels[i]! % numLabels]!;
      });
    };
    const ones = (n: number) => [Array(n).fill(1), Array(n).fill(1)];
    assertClose(losses, lossesOf(ones(3), ones(10)), 'losses', { rtol: 2e-5, scales: lossesOf(ones(3), ones(10)).map((v) => Math.abs(v) + 0.1) });
    const fd = (kind: 'head' | 'neuron', l: number, j: number) => {
      const h = 1e-4, at = (delta: number) => {
        const hm = ones(3), nm = ones(10);
        (kind === 'head' ? hm : nm)[l]![j] = 1 + delta;
        return lossesOf(hm, nm);
      };
      const up = at(h), down = at(-h);
      return up.map((u, i) => (u - down[i]!) / (2 * h));
    };
    const want = { head: new Float64Array(batch * 2 * 3), neuron: new Float64Array(batch * 2 * 10) };
    for (const [kind, groups] of [['head', 3], ['neuron', 10]] as const) {
      for (let l = 0; l < 2; l++) {
        for (let j = 0; j < groups; j++) fd(kind, l, j).forEach((v, i) => { want[kind][(i * 2 + l) * groups + j] = v; });
      }
    }
    // Float32 forward and backward through two layers and the head: 1e-4 of |g| plus 1% of
    // the largest, since single gradients can cancel to near zero.
    for (const kind of ['head', 'neuron'] as const) {
      const w = want[kind], top = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assertClose(kind === 'head' ? hg : ng, w, `${arch} ${kind} mask gradients`, { rtol: 1e-4, scales: w.map((v) => Math.abs(v) + 0.01 * top) });
    }
    for (const t of [out.head, out.neuron, out.losses]) t.dispose();
    model.dispose();
  });
}

// Answer spans: example 1's start lies past the sequence (clamped to seq, ignored: only its
// end half counts), example 2's end falls on padding (a position like any other).
const startPositions = [1, 12, 0], endPositions = [3, 4, 5];

for (const arch of ['BertForQuestionAnswering', 'DistilBertForQuestionAnswering', 'RobertaForQuestionAnswering'] as const) {
  g(`${arch}: per-example mask gradients of the span loss against central differences of the float64 loss`, async ({ rt }) => {
    const config = smallConfig(arch);
    const roberta = config.modelType === 'roberta';
    const rIds = roberta ? ids.map((v) => (v === 0 ? 1 : v === 2 ? 0 : v)) : ids;
    const useTypes = config.modelType === 'bert' ? types : undefined;
    const { source, forward } = makeCheckpoint(rand, config);
    const model = await EncoderModel.load(rt, config, source);
    const b = { batch, seq, inputIds: Int32Array.from(rIds), attentionMask: Int32Array.from(mask), ...(useTypes ? { tokenTypeIds: Int32Array.from(useTypes) } : {}) };
    const out = model.maskGradients(b, { startPositions: Int32Array.from(startPositions), endPositions: Int32Array.from(endPositions) });
    const [hg, ng, losses] = await Promise.all([out.head.read(), out.neuron.read(), out.losses.read()]);
    assert.equal(out.head.shape, [batch, 2, 3]);
    assert.equal(out.neuron.shape, [batch, 2, 10]);

    // Each example's float64 span loss (test/reference/loss.ts, itself checked against
    // PyTorch's rule) under masks; central differences as for the classifiers.
    const lossesOf = (head: number[][], neuron: number[][]) => {
      const z = forward(rIds, mask, useTypes, batch, seq, head, neuron);
      return Array.from(spanLossRef(z.start!, z.end!, startPositions, endPositions, seq).losses);
    };
    const ones = (n: number) => [Array(n).fill(1), Array(n).fill(1)];
    const at1 = lossesOf(ones(3), ones(10));
    assertClose(losses, at1, 'losses', { rtol: 2e-5, scales: at1.map((v) => Math.abs(v) + 0.1) });
    const fd = (kind: 'head' | 'neuron', l: number, j: number) => {
      const h = 1e-4, at = (delta: number) => {
        const hm = ones(3), nm = ones(10);
        (kind === 'head' ? hm : nm)[l]![j] = 1 + delta;
        return lossesOf(hm, nm);
      };
      const up = at(h), down = at(-h);
      return up.map((u, i) => (u - down[i]!) / (2 * h));
    };
    const want = { head: new Float64Array(batch * 2 * 3), neuron: new Float64Array(batch * 2 * 10) };
    for (const [kind, groups] of [['head', 3], ['neuron', 10]] as const) {
      for (let l = 0; l < 2; l++) {
        for (let j = 0; j < groups; j++) fd(kind, l, j).forEach((v, i) => { want[kind][(i * 2 + l) * groups + j] = v; });
      }
    }
    // The tolerance of the classifiers: 1e-4 of |g| plus 1% of the largest.
    for (const kind of ['head', 'neuron'] as const) {
      const w = want[kind], top = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(top > 1e-3, `${kind} gradients are not all ~0 (largest ${top})`);
      assertClose(kind === 'head' ? hg : ng, w, `${arch} ${kind} mask gradients`, { rtol: 1e-4, scales: w.map((v) => Math.abs(v) + 0.01 * top) });
    }
    for (const t of [out.head, out.neuron, out.losses]) t.dispose();
    model.dispose();
  });
}

g('pruned models, and targets that do not fit the head are refused', async ({ rt }) => {
  const b = { batch, seq, inputIds: Int32Array.from(ids), attentionMask: Int32Array.from(mask), tokenTypeIds: Int32Array.from(types) };
  const spans = { startPositions: Int32Array.of(0, 0, 0), endPositions: Int32Array.of(0, 0, 0) };
  const qa = configFor('BertForQuestionAnswering');
  const qaModel = await EncoderModel.load(rt, qa, makeCheckpoint(rand, qa).source);
  assert.throws(() => qaModel.maskGradients(b, { labels: Int32Array.of(0, 0, 0) }), /labels given to a question-answering model; pass startPositions and endPositions/);
  assert.throws(() => qaModel.maskGradients(b, { targets: Float32Array.of(0, 0, 0) }), /targets given to a question-answering model/);
  qaModel.dispose();
  const cls = configFor('BertForSequenceClassification');
  const keep = [{ heads: 2, neurons: 10 }, { heads: 3, neurons: 4 }];
  const prunedConfig = smallConfig('BertForSequenceClassification', { num_labels: 3, ...prunedFields(3, keep) });
  const pruned = await EncoderModel.load(rt, prunedConfig, makeCheckpoint(rand, prunedConfig, keep).source);
  assert.throws(() => pruned.maskGradients(b, { labels: Int32Array.of(0, 0, 0) }), /physically pruned/);
  pruned.dispose();
  const model = await EncoderModel.load(rt, cls, makeCheckpoint(rand, cls).source);
  assert.throws(() => model.maskGradients(b, { targets: Float32Array.of(0, 0, 0) }), /targets given to a classifier of 3 classes; pass labels/);
  assert.throws(() => model.maskGradients(b, spans), /start and end positions given to a classifier; pass labels/);
  model.dispose();
  const reg = configFor('BertForSequenceClassification', 1);
  const regModel = await EncoderModel.load(rt, reg, makeCheckpoint(rand, reg).source);
  assert.throws(() => regModel.maskGradients(b, spans), /start and end positions given to a regression model; pass targets/);
  regModel.dispose();
});

g.run();
