import * as assert from 'uvu/assert';
import { parseConfig } from '../../src/models/config.js';
import { EncoderModel, type ModelOutput } from '../../src/models/model.js';
import { canonicalTensors, type WeightSource } from '../../src/models/weights.js';
import { assertClose, rejected, thrown } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { makeCheckpoint, prunedFields, smallConfig } from '../reference/model.js';

const rand = new Random();

const configFor = (architecture: string, extra: Record<string, unknown> = {}) => smallConfig(architecture, { num_labels: 3, ...extra });

const batch = 3, seq = 7;
const ids = [2, 11, 12, 13, 3, 0, 0, 2, 14, 15, 16, 17, 18, 3, 2, 19, 3, 0, 0, 0, 0];
const mask = ids.map((v, i) => (v !== 0 || i % seq === 0 ? 1 : 0));
const types = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];

// Two layers of float32 on O(1) values, then a head whose outputs are sums of a dozen
// O(0.5) products that may cancel to near 0: 2e-5 of |v| + 0.1 (errors seen: ~3e-7).
const near = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) =>
  assertClose(got, want, what, { rtol: 2e-5, scales: Float64Array.from(want, (v) => Math.abs(v) + 0.1) });

async function check(out: ModelOutput, want: { logits?: Float64Array; start?: Float64Array; end?: Float64Array }, what: string) {
  if (out.kind === 'classification') near(await out.logits.read(), want.logits!, `${what} logits`);
  else {
    near(await out.start.read(), want.start!, `${what} start`);
    near(await out.end.read(), want.end!, `${what} end`);
  }
}

const t = gpuSuite('model');

for (const arch of ['BertForSequenceClassification', 'BertForQuestionAnswering', 'DistilBertForSequenceClassification', 'DistilBertForQuestionAnswering', 'RobertaForSequenceClassification', 'RobertaForQuestionAnswering']) {
  t(`${arch}: padded batch against the float64 model, with and without masks`, async ({ rt }) => {
    const config = configFor(arch);
    const roberta = config.modelType === 'roberta';
    // RoBERTa pads with 1 and puts <s> = 0.
    const rIds = roberta ? ids.map((v) => (v === 0 ? 1 : v === 2 ? 0 : v)) : ids;
    const { source, forward } = makeCheckpoint(rand, config);
    const model = await EncoderModel.load(rt, config, source);
    const useTypes = config.modelType === 'bert' ? types : undefined;
    const b = { batch, seq, inputIds: Int32Array.from(rIds), attentionMask: Int32Array.from(mask), ...(useTypes ? { tokenTypeIds: Int32Array.from(useTypes) } : {}) };
    await check(model.forward(b), forward(rIds, mask, useTypes, batch, seq), arch);
    const head = [[1, 0, 0.5], [0.25, 1.5, 1]], neuron = [Array.from({ length: 10 }, (_, i) => (i % 3) / 2), Array.from({ length: 10 }, (_, i) => (i % 4 ? 1 : 0))];
    await check(model.forward(b, { head, neuron }), forward(rIds, mask, useTypes, batch, seq, head, neuron), `${arch} masked`);
    model.dispose();
  });
}

t('canonicalTensors lists exactly what each family\'s checkpoint holds', () => {
  for (const arch of ['BertForSequenceClassification', 'DistilBertForQuestionAnswering', 'RobertaForSequenceClassification']) {
    const config = configFor(arch);
    const { source } = makeCheckpoint(rand, config);
    assert.equal([...canonicalTensors(config)].sort(), [...source.shapes].map(([k, v]) => [k, [...v]]).sort(), arch);
  }
});

t('a physically pruned BERT (fewer heads and neurons, a layer without attention) runs', async ({ rt }) => {
  const config = configFor('BertForSequenceClassification');
  const keep = [{ heads: 1, neurons: 4 }, { heads: 0, neurons: 6 }];
  const { source, forward } = makeCheckpoint(rand, config, keep);
  const model = await EncoderModel.load(rt, config, source);
  assert.equal(model.layerSizes, [{ heads: 1, neurons: 4 }, { heads: 0, neurons: 6 }]);
  const b = { batch, seq, inputIds: Int32Array.from(ids), attentionMask: Int32Array.from(mask), tokenTypeIds: Int32Array.from(types) };
  await check(model.forward(b), forward(ids, mask, types, batch, seq), 'pruned');
  model.dispose();
});

t('a layer without FFN neurons runs', async ({ rt }) => {
  const config = configFor('BertForSequenceClassification');
  const { source, forward } = makeCheckpoint(rand, config, [{ heads: 3, neurons: 0 }, { heads: 2, neurons: 10 }]);
  const model = await EncoderModel.load(rt, config, source);
  const b = { batch, seq, inputIds: Int32Array.from(ids), attentionMask: Int32Array.from(mask) };
  await check(model.forward(b), forward(ids, mask, undefined, batch, seq), 'no neurons');
  model.dispose();
});

t('checkpoints that disagree with config.json are refused before any upload', async ({ rt }) => {
  const config = configFor('BertForSequenceClassification');
  const { source } = makeCheckpoint(rand, config);
  const without = (name: string): WeightSource => ({ ...source, shapes: new Map([...source.shapes].filter(([k]) => k !== name)) });
  const reshaped = (name: string, shape: number[]): WeightSource => ({ ...source, shapes: new Map([...source.shapes].map(([k, v]) => [k, k === name ? shape : v])) });
  const before = rt.stats().tensors;
  assert.match(await rejected(() => EncoderModel.load(rt, config, without('bert.encoder.layer.1.output.dense.bias'))),
    'test bert checkpoint: tensor "bert.encoder.layer.1.output.dense.bias" is missing (needed by BertForSequenceClassification)');
  assert.match(await rejected(() => EncoderModel.load(rt, config, reshaped('bert.embeddings.word_embeddings.weight', [31, 12]))),
    'tensor "bert.embeddings.word_embeddings.weight" has shape [31, 12], but config.json implies [30, 12] (vocab_size x hidden_size)');
  assert.match(await rejected(() => EncoderModel.load(rt, config, reshaped('bert.encoder.layer.0.attention.self.query.weight', [5, 12]))),
    'has 5 rows, not a multiple of the head size 4');
  assert.is(rt.stats().tensors, before, 'nothing was uploaded');
});

t('sequences longer than the model\'s positions are refused', async ({ rt }) => {
  const config = configFor('BertForSequenceClassification');
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const n = 17;
  assert.match(thrown(() => model.forward({ batch: 1, seq: n, inputIds: new Int32Array(n), attentionMask: new Int32Array(n).fill(1) })),
    'sequences of 17 tokens are longer than this model\'s 16 positions');
  model.dispose();
});

t.run();

const cfg = gpuSuite('config');
cfg('unknown architectures and model types are refused with the supported list', () => {
  assert.match(thrown(() => parseConfig({ architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' })),
    'config.json: architectures ["GPT2LMHeadModel"] has none we support; supported: BertForSequenceClassification, BertForQuestionAnswering, DistilBertForSequenceClassification');
  assert.match(thrown(() => parseConfig({ architectures: ['BertForSequenceClassification'], model_type: 'roberta', hidden_size: 4, num_attention_heads: 2 })),
    'model_type "roberta" does not match architecture BertForSequenceClassification');
  assert.match(thrown(() => parseConfig({ architectures: ['BertForSequenceClassification'], hidden_size: 10, num_attention_heads: 3 })), 'hidden size 10 is not divisible by 3 attention heads');
  assert.match(thrown(() => parseConfig({ architectures: ['BertForSequenceClassification'], hidden_size: 12, num_attention_heads: 3, hidden_act: 'relu' })), 'activation "relu" is not supported');
  assert.match(thrown(() => parseConfig({ architectures: ['BertForSequenceClassification'], num_attention_heads: 3 })), 'config.json: "hidden_size" is missing');
});
cfg('labels, regression and family-specific names are read', () => {
  const c = parseConfig({ architectures: ['BertForSequenceClassification'], hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 4, vocab_size: 5, max_position_embeddings: 8, num_labels: 1 });
  assert.is(c.problemType, 'regression');
  const d = configFor('DistilBertForSequenceClassification');
  assert.equal([d.hidden, d.heads, d.layers, d.intermediate, d.typeVocabSize], [12, 3, 2, 10, 0]);
});
cfg.run();
