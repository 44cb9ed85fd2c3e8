import * as assert from 'uvu/assert';
import { parseConfig } from '../../src/models/config.js';
import { EncoderModel } from '../../src/models/model.js';
import type { WeightSource } from '../../src/models/weights.js';
import { tuneMasks, type Masks } from '../../src/prune/tune.js';
import { randomSampleBatches } from '../helpers/batches.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { makeCheckpoint } from '../reference/model.js';
import { tuneRef } from '../reference/tune.js';

const rand = new Random();
const r01 = () => rand.uniform(1, 0, 1)[0]!;
const config = parseConfig({
  architectures: ['BertForSequenceClassification'], num_labels: 2, hidden_size: 16, num_attention_heads: 4, num_hidden_layers: 3,
  intermediate_size: 12, vocab_size: 40, max_position_embeddings: 16, type_vocab_size: 2, model_type: 'bert',
});
const seq = 8, perBatch = 6;

const batches = (count: number) => randomSampleBatches(rand, count, perBatch, seq);

/** Masks with the same zeros as `pattern` and random values in [lo, hi] elsewhere. */
function valued(pattern: Masks, lo: number, hi: number): Masks {
  const v = (l: number[]) => l.map((x) => (x ? lo + (hi - lo) * r01() : 0));
  return { head: pattern.head.map(v), neuron: pattern.neuron.map(v) };
}

const binary: Masks = {
  head: [[1, 0, 1, 1], [0, 1, 1, 1], [1, 1, 0, 1]],
  neuron: [[1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0], [0, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1], [1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1]],
};

const t = gpuSuite('tuneMasks');

t('recovers the mask values of a teacher that is the student with known values (layer by layer, every sub-layer)', async ({ rt }) => {
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const truth = valued(binary, 0.5, 1.5);
  // The teacher is the model with the true values: each least squares is consistent (zero
  // residual), so an undamped solve returns the values themselves, up to float32: the Gram
  // matrices are float32 sums over ~250 tokens x 16 units, their condition numbers here are
  // under ~1e3, so the values come back within ~1e-4; 2e-3 leaves room.
  const tuned = await tuneMasks(model, batches(4), binary, { teacher: truth, damping: 0, firstAttention: true });
  assert.is(tuned.stopped, undefined);
  assert.equal(tuned.log.map((e) => e.status), Array(6).fill('tuned'));
  for (const kind of ['head', 'neuron'] as const) {
    tuned[kind].forEach((layer, l) => layer.forEach((v, j) => {
      assert.ok(Math.abs(v - truth[kind][l]![j]!) < 2e-3, `${kind} ${l}.${j}: ${v} vs ${truth[kind][l]![j]}`);
    }));
  }
  // Pruned stay pruned; the input masks are not modified.
  assert.equal(tuned.head.map((l) => l.map((v) => v !== 0)), binary.head.map((l) => l.map((v) => v !== 0)));
  assert.equal(binary.head[0], [1, 0, 1, 1]);
  // Layer 0's attention is skipped unless asked, as the reference code does.
  const skipped = await tuneMasks(model, batches(4), binary, { teacher: truth, damping: 0, firstTokenOnly: true });
  assert.is(skipped.log[0]!.status, 'skipped');
  assert.equal(skipped.head[0], binary.head[0]);
  assert.ok(Math.abs(skipped.head[1]![1]! - truth.head[1]![1]!) > 1e-3, 'layer 1 fits a student whose layer 0 differs from the teacher\'s');
  model.dispose();
});

t('equals the method computed from its definition in float64 (explicit least-squares columns), teacher the unpruned model', async ({ rt }) => {
  const { source, layers } = makeCheckpoint(rand, config);
  const model = await EncoderModel.load(rt, config, source);
  const data = batches(3);
  const tuned = await tuneMasks(model, data, binary, { firstTokenOnly: true });
  const x0 = await Promise.all(data.map(async (b) => { const x = model.embed(b.tokens); const v = Float64Array.from(await x.read()); x.dispose(); return v; }));
  const ref = tuneRef(layers, config.heads, config.layerNormEps, x0, data.map((b) => Array.from(b.tokens.attentionMask)),
    data.map((b) => [b.tokens.batch, b.tokens.seq]), binary, { firstTokenOnly: true });
  // Float32 forward passes and Gram sums against float64: the systems here have condition
  // numbers up to ~1e3, so the values agree to ~1e-4; 2e-3 (absolute, values near 1) leaves room.
  for (const kind of ['head', 'neuron'] as const) {
    tuned[kind].forEach((layer, l) => layer.forEach((v, j) => {
      assert.ok(Math.abs(v - ref[kind][l]![j]!) < 2e-3, `${kind} ${l}.${j}: ${v} vs float64 ${ref[kind][l]![j]}`);
    }));
  }
  assert.ok(tuned.neuron.flat().some((v) => v !== 0 && Math.abs(v - 1) > 0.01), 'tuning moved the values');
  model.dispose();
});

t('a large damping keeps every value at 1', async ({ rt }) => {
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const heavy = await tuneMasks(model, batches(3), binary, { firstTokenOnly: true, damping: 1e9 });
  for (const kind of ['head', 'neuron'] as const) {
    for (const l of heavy[kind]) for (const v of l) assert.ok(v === 0 || Math.abs(v - 1) < 1e-3, `damped ${kind} value ${v}`);
  }
  model.dispose();
});

t('the guard: a value outside [-10, 10] stops tuning there, keeping what was tuned before', async ({ rt }) => {
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const truth = valued(binary, 0.5, 1.5);
  truth.head[1]![2] = 25;
  const tuned = await tuneMasks(model, batches(4), binary, { teacher: truth, damping: 0, firstAttention: true });
  assert.equal(tuned.stopped && { layer: tuned.stopped.layer, block: tuned.stopped.block }, { layer: 1, block: 'attention' });
  assert.match(tuned.stopped!.reason, 'left [-10, 10]');
  assert.equal(tuned.log.map((e) => e.status), ['tuned', 'tuned', 'stopped', 'not reached', 'not reached', 'not reached']);
  assert.ok(Math.abs(tuned.head[0]![2]! - truth.head[0]![2]!) < 2e-3, 'layer 0 kept its tuned values');
  assert.equal(tuned.head.slice(1), binary.head.slice(1));
  assert.equal(tuned.neuron.slice(1), binary.neuron.slice(1));
  model.dispose();
});

t('the guard: a failed solve (a neuron that never fires, no damping) stops tuning at its FFN', async ({ rt }) => {
  const { source } = makeCheckpoint(rand, config);
  // Layer 1's neuron 1: W1 row 0 and a bias of -1e4, so GELU gives exactly 0 on every token.
  const dead: WeightSource = {
    ...source,
    read: async (name) => {
      const data = await source.read(name);
      if (name === 'bert.encoder.layer.1.intermediate.dense.weight') data.fill(0, 1 * 16, 2 * 16);
      if (name === 'bert.encoder.layer.1.intermediate.dense.bias') data[1] = -1e4;
      return data;
    },
  };
  const model = await EncoderModel.load(rt, config, dead);
  const tuned = await tuneMasks(model, batches(3), binary, { damping: 0, firstTokenOnly: true });
  assert.equal(tuned.stopped && { layer: tuned.stopped.layer, block: tuned.stopped.block }, { layer: 1, block: 'ffn' });
  assert.equal(tuned.neuron[1], binary.neuron[1]);
  model.dispose();
});

t('refuses masks of the wrong shape and an empty sample set', async ({ rt }) => {
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  await tuneMasks(model, batches(1), { head: binary.head.slice(1), neuron: binary.neuron }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, '3 layers of 4 head and 12 neuron values'));
  await tuneMasks(model, [], binary).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, 'the sample set is empty'));
  model.dispose();
});

t.run();
