import * as assert from 'uvu/assert';
import { parseConfig } from '../../src/models/config.js';
import { EncoderModel } from '../../src/models/model.js';
import { prunedCheckpoint } from '../../src/prune/export.js';
import { fisherInformation } from '../../src/prune/fisher.js';
import { findMasks } from '../../src/prune/masks.js';
import { pruneModel } from '../../src/prune/pipeline.js';
import { searchByFlops } from '../../src/prune/search.js';
import { tuneMasks } from '../../src/prune/tune.js';
import { randomSampleBatches } from '../helpers/batches.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { makeCheckpoint } from '../reference/model.js';

const rand = new Random();
const json = {
  architectures: ['BertForSequenceClassification'], num_labels: 2, hidden_size: 16, num_attention_heads: 4, num_hidden_layers: 3,
  intermediate_size: 12, vocab_size: 40, max_position_embeddings: 16, type_vocab_size: 2, model_type: 'bert',
};
const config = parseConfig(json);
const seq = 8, perBatch = 5;
const shape = { layers: 3, heads: 4, hidden: 16, intermediate: 12, seqLen: 6.5 };

const batches = (count: number) => randomSampleBatches(rand, count, perBatch, seq);

const binary = (m: Uint8Array[]) => m.map((l) => Array.from(l));
const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

const t = gpuSuite('pruneModel');

t('equals the steps run one by one: Fisher, search, rearrangement, tuning, export (every option)', async ({ rt }) => {
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const data = batches(4);
  for (const options of [
    { constraint: 0.5, seqLen: 6.5 },
    { constraint: 0.4, seqLen: 6.5, perBatch: true, damping: 3, tuneFirstAttention: true },
    { constraint: 0.6, seqLen: 6.5, teacher: 'sqrt' as const },
    { constraint: 0.5, seqLen: 6.5, tune: false },
  ]) {
    const what = JSON.stringify(options);
    const progress: string[] = [];
    const r = await pruneModel(model, data, json, { ...options, onProgress: (step, done, total) => progress.push(`${step} ${done}/${total}`) });
    const found = await findMasks(model, data, { constraint: options.constraint, seqLen: options.seqLen, perBatch: options.perBatch ?? false });
    assert.equal(r.found.fisher.perBatch, options.perBatch ?? false, what);
    assert.equal(Array.from(r.found.fisher.head), Array.from(found.fisher.head), `Fisher ${what}`);
    assert.equal(r.searched, { head: binary(found.search.headMask), neuron: binary(found.search.neuronMask) }, what);
    assert.equal(r.rearranged, { head: found.head, neuron: found.neuron }, what);
    if (options.tune === false) {
      assert.is(r.tuned, undefined);
      assert.equal(r.masks, r.rearranged);
      assert.not.ok(progress.some((p) => p.startsWith('tune')), what);
    } else {
      const teacher = options.teacher === 'sqrt'
        ? (() => { const s = searchByFlops(found.fisher.head, found.fisher.neuron, shape, Math.sqrt(options.constraint)); return { head: binary(s.headMask), neuron: binary(s.neuronMask) }; })()
        : undefined;
      const tuned = await tuneMasks(model, data, { head: found.head, neuron: found.neuron }, {
        damping: options.damping ?? 1, firstAttention: options.tuneFirstAttention ?? false, firstTokenOnly: true, ...(teacher ? { teacher } : {}),
      });
      assert.equal(r.masks, { head: tuned.head, neuron: tuned.neuron }, `tuned masks ${what}`);
      assert.ok(progress.includes('tune 6/6'), what);
    }
    assert.ok(progress.includes('fisher 4/4'), `${what}: ${progress.join(', ')}`);
    const p = await prunedCheckpoint(model, json, r.masks);
    for (const [name, tensor] of p.tensors) assert.ok(same(tensor.data, r.checkpoint.tensors.get(name)!.data), `${name} ${what}`);
  }
  model.dispose();
});

t('the options change what they should: per-batch Fisher, damping, the sqrt teacher, layer 0 attention', async ({ rt }) => {
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const data = batches(4);
  const base = await pruneModel(model, data, json, { constraint: 0.5, seqLen: 6.5 });
  const perBatch = await fisherInformation(model, data, { perBatch: true });
  const pb = await pruneModel(model, data, json, { constraint: 0.5, seqLen: 6.5, perBatch: true });
  assert.equal(Array.from(pb.found.fisher.head), Array.from(perBatch.head), 'per-batch Fisher is the per-batch one');
  assert.not.equal(Array.from(pb.found.fisher.head), Array.from(base.found.fisher.head));
  const damped = await pruneModel(model, data, json, { constraint: 0.5, seqLen: 6.5, damping: 1e6 });
  assert.not.equal(damped.masks, base.masks);
  const sqrt = await pruneModel(model, data, json, { constraint: 0.5, seqLen: 6.5, teacher: 'sqrt' });
  assert.not.equal(sqrt.masks, base.masks);
  const first = await pruneModel(model, data, json, { constraint: 0.5, seqLen: 6.5, tuneFirstAttention: true });
  assert.is(base.tuned!.log[0]!.status, 'skipped');
  assert.is(first.tuned!.log[0]!.status, base.masks.head[0]!.some((v) => v) ? 'tuned' : 'empty');
  // Deterministic: the same inputs give the same masks and weights.
  const again = await pruneModel(model, data, json, { constraint: 0.5, seqLen: 6.5 });
  assert.equal(again.masks, base.masks);
  for (const [name, tensor] of again.checkpoint.tensors) assert.ok(same(tensor.data, base.checkpoint.tensors.get(name)!.data), name);
  model.dispose();
});

t.run();
