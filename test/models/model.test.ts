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
  const keep = [{ heads: 1, neurons: 4 }, { heads: 0, neurons: 6 }];
  const config = configFor('BertForSequenceClassification', prunedFields(3, keep));
  const { source, forward } = makeCheckpoint(rand, config, keep);
  const model = await EncoderModel.load(rt, config, source);
  assert.equal(model.layerSizes, [{ heads: 1, neurons: 4 }, { heads: 0, neurons: 6 }]);
  const b = { batch, seq, inputIds: Int32Array.from(ids), attentionMask: Int32Array.from(mask), tokenTypeIds: Int32Array.from(types) };
  await check(model.forward(b), forward(ids, mask, types, batch, seq), 'pruned');
  model.dispose();
});

t('a layer without FFN neurons runs', async ({ rt }) => {
  const keep = [{ heads: 3, neurons: 0 }, { heads: 2, neurons: 10 }];
  const config = configFor('BertForSequenceClassification', prunedFields(3, keep));
  const { source, forward } = makeCheckpoint(rand, config, keep);
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
    'has 5 rows (not a whole number of heads of size 4), but config.json declares 3 heads for layer 0');
  assert.is(rt.stats().tensors, before, 'nothing was uploaded');
});

t('config.json that disagrees with the weights in ways shapes alone do not show is refused (issue 13)', async ({ rt }) => {
  const config = configFor('BertForSequenceClassification');
  const { source } = makeCheckpoint(rand, config);
  const before = rt.stats().tensors;
  const load = (extra: Record<string, unknown>) => rejected(() => EncoderModel.load(rt, configFor('BertForSequenceClassification', extra), source));
  // Fewer layers than the checkpoint holds: the rest would be ignored.
  assert.match(await load({ num_hidden_layers: 1 }),
    'test bert checkpoint: the checkpoint holds layers up to 1 but config.json\'s num_hidden_layers is 1 (unused: "bert.encoder.layer.1.attention.self.query.weight"');
  // A larger intermediate_size would read the weights as physically pruned; pruned heads likewise.
  assert.match(await load({ intermediate_size: 12 }),
    'tensor "bert.encoder.layer.0.intermediate.dense.weight" has 10 rows, but config.json declares an FFN of 12 neurons for layer 0 (intermediate_size, and no wgprune_pruned.intermediate_sizes)');
  const keep = [{ heads: 1, neurons: 4 }, { heads: 0, neurons: 6 }];
  const pruned = makeCheckpoint(rand, config, keep).source;
  assert.match(await rejected(() => EncoderModel.load(rt, config, pruned)),
    'has 4 rows (1 head of size 4), but config.json declares 3 heads for layer 0 (num_attention_heads 3, and no pruned_heads for it)');
  // Declared, but not as the weights are.
  const wrong = configFor('BertForSequenceClassification', prunedFields(3, [{ heads: 1, neurons: 5 }, { heads: 0, neurons: 6 }]));
  assert.match(await rejected(() => EncoderModel.load(rt, wrong, pruned)),
    'has 4 rows, but config.json declares an FFN of 5 neurons for layer 0 (wgprune_pruned.intermediate_sizes)');
  // Hugging Face's pruned_heads alone: heads pruned, FFN whole.
  const hfKeep = [{ heads: 2, neurons: 10 }, { heads: 3, neurons: 10 }];
  const hf = configFor('BertForSequenceClassification', { pruned_heads: { 0: [2, 2] } });
  const model = await EncoderModel.load(rt, hf, makeCheckpoint(rand, hf, hfKeep).source);
  assert.equal(model.layerSizes, [{ heads: 2, neurons: 10 }, { heads: 3, neurons: 10 }]);
  model.dispose();
  // Tensors nothing uses (the checkpoint of another model) are refused; Hugging Face's extras are not.
  const extra = (names: string[]): WeightSource => ({ ...source, shapes: new Map([...source.shapes, ...names.map((n) => [n, [1]] as [string, number[]])]) });
  assert.match(await rejected(() => EncoderModel.load(rt, config, extra(['decoder.weight']))),
    '1 tensor is not used by BertForSequenceClassification as config.json describes it ("decoder.weight")');
  const ok = await EncoderModel.load(rt, config, extra(['bert.embeddings.position_ids', 'cls.predictions.bias']));
  ok.dispose();
  assert.is(rt.stats().tensors, before, 'nothing was left uploaded');
});

for (const arch of ['BertForSequenceClassification', 'DistilBertForQuestionAnswering', 'RobertaForSequenceClassification', 'RobertaForQuestionAnswering']) {
  t(`${arch}: an input at the length limit runs, one token longer is refused (forward and embed)`, async ({ rt }) => {
    const config = configFor(arch);
    const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
    // RoBERTa's positions start after the padding index: 16 positions, pad 1, leave 14 tokens.
    const limit = config.modelType === 'roberta' ? 14 : 16;
    const batchOf = (n: number) => ({ batch: 1, seq: n, inputIds: new Int32Array(n).fill(5), attentionMask: new Int32Array(n).fill(1) });
    const out = model.forward(batchOf(limit));
    const values = out.kind === 'classification' ? await out.logits.read() : await out.start.read();
    assert.ok(values.every((v) => Number.isFinite(v)), 'finite at the limit');
    assert.match(thrown(() => model.forward(batchOf(limit + 1))), `sequences of ${limit + 1} tokens are longer than this model's ${limit} positions`);
    assert.match(thrown(() => model.embed(batchOf(limit + 1))), config.modelType === 'roberta' ? 'model: RoBERTa position ids' : `sequences of ${limit + 1} tokens are longer`);
    model.dispose();
  });
}

t('token ids outside the vocabulary or the token types are refused, not clamped', async ({ rt }) => {
  const config = configFor('BertForSequenceClassification');
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const b = { batch: 1, seq: 3, inputIds: Int32Array.of(2, 30, 3), attentionMask: Int32Array.of(1, 1, 1) };
  assert.match(thrown(() => model.forward(b)), 'model: input ids (vocab_size): id 30 at [0, 1] is outside [0, 30)');
  assert.match(thrown(() => model.forward({ ...b, inputIds: Int32Array.of(2, 4, 3), tokenTypeIds: Int32Array.of(0, 2, 0) })), 'model: token type ids (type_vocab_size): id 2 at [0, 1] is outside [0, 2)');
  model.dispose();
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
cfg('values no model has are refused, quickly, naming the field (issue 13)', () => {
  const base = { architectures: ['BertForSequenceClassification'], hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 4, vocab_size: 5, max_position_embeddings: 8 };
  const bad = (extra: Record<string, unknown>) => thrown(() => parseConfig({ ...base, ...extra }));
  const t0 = performance.now();
  assert.match(bad({ num_labels: 2 ** 31 }), 'config.json: "num_labels" is 2147483648, expected an integer from 1 to 1048576');
  assert.match(bad({ num_hidden_layers: 1e9 }), '"num_hidden_layers" is 1000000000, expected an integer from 1 to 1024');
  assert.match(bad({ vocab_size: 2 ** 53 }), '"vocab_size" is 9007199254740992');
  assert.ok(performance.now() - t0 < 100, 'no array of 2^31 labels is made');
  assert.match(bad({ layer_norm_eps: 0 }), '"layer_norm_eps" is 0, expected a small positive number, at most 0.01');
  assert.match(bad({ layer_norm_eps: 1 }), '"layer_norm_eps" is 1, expected a small positive number');
  assert.match(bad({ layer_norm_eps: -1e-12 }), '"layer_norm_eps" is -1e-12');
  assert.match(bad({ num_labels: 3, problem_type: 'regression' }), 'problem_type "regression" with 3 labels: a regression model has one output');
  assert.match(bad({ num_labels: 1, problem_type: 'single_label_classification' }), 'a classifier has 2 or more classes');
  assert.match(bad({ num_labels: 3, id2label: { 0: 'a', 1: 'b' } }), '"num_labels" is 3 but "id2label" names 2 classes');
  assert.match(bad({ id2label: { 0: 'a', 2: 'b' } }), '"id2label" has key "2"; its keys must be the class indices 0 to 1');
  assert.match(bad({ pad_token_id: 5 }), '"pad_token_id" is 5, expected an integer from 0 to 4');
  assert.match(bad({ hidden_size: 8.5 }), '"hidden_size" is 8.5');
  assert.match(bad({ pruned_heads: { 1: [0] } }), '"pruned_heads" names layer "1", but the model has layers 0 to 0');
  assert.match(bad({ pruned_heads: { 0: [2] } }), '"pruned_heads" of layer 0 is [2], expected head indices from 0 to 1');
  assert.match(bad({ pruned_heads: { 0: [1] }, wgprune_pruned: { heads_kept: [2] } }), '"wgprune_pruned.heads_kept" keeps 2 heads in layer 0, but "pruned_heads" leaves 1 of 2');
  assert.match(bad({ wgprune_pruned: { intermediate_sizes: [5] } }), '"wgprune_pruned.intermediate_sizes" is [5], expected 1 integers from 0 to 4');
  const roberta = { ...base, architectures: ['RobertaForSequenceClassification'], max_position_embeddings: 2, pad_token_id: 1 };
  assert.match(thrown(() => parseConfig(roberta)), 'RoBERTa\'s positions start after pad_token_id 1, so max_position_embeddings 2 leaves no room for a token');
  assert.is(parseConfig({ ...base, pad_token_id: null }).padTokenId, 0, 'null is "not set", as Hugging Face writes it');
  const c = parseConfig({ ...base, pruned_heads: { 0: [1] }, wgprune_pruned: { heads_kept: [1], intermediate_sizes: [3] } });
  assert.equal(c.layerSizes, [{ heads: 1, neurons: 3 }]);
});
cfg('labels, regression and family-specific names are read', () => {
  const c = parseConfig({ architectures: ['BertForSequenceClassification'], hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 4, vocab_size: 5, max_position_embeddings: 8, num_labels: 1 });
  assert.is(c.problemType, 'regression');
  const d = configFor('DistilBertForSequenceClassification');
  assert.equal([d.hidden, d.heads, d.layers, d.intermediate, d.typeVocabSize], [12, 3, 2, 10, 0]);
});
cfg.run();
