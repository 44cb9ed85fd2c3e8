import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGlueTsv } from '../../src/data/glue.js';
import { parseSquadJson, squadFeatures, type SquadData } from '../../src/data/squad.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { parseConfig } from '../../src/models/config.js';
import { EncoderModel } from '../../src/models/model.js';
import { fisherInformation } from '../../src/prune/fisher.js';
import { sampleBatches, sampleSquadBatches } from '../../src/prune/samples.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { makeCheckpoint, smallConfig } from '../reference/model.js';
import vocab from '../fixtures/data/bert-base-uncased/vocab.txt' with { type: 'text' };
import tokenizerConfig from '../fixtures/data/bert-base-uncased/tokenizer_config.json' with { type: 'json' };
import sst2 from '../fixtures/data/glue/SST-2/dev.tsv' with { type: 'text' };
import stsb from '../fixtures/data/glue/STS-B/dev.tsv' with { type: 'text' };
import squadSlice from '../fixtures/data/squad/dev-v1.1-slice.json' with { type: 'json' };

const tokenizer = loadTokenizer({ 'vocab.txt': vocab, 'tokenizer_config.json': tokenizerConfig as object }, 'bert');
const config = (labels: number, id2label?: Record<string, string>) => parseConfig({
  architectures: ['BertForSequenceClassification'], model_type: 'bert', hidden_size: 12, num_attention_heads: 3, num_hidden_layers: 1,
  intermediate_size: 8, vocab_size: 30522, max_position_embeddings: 128, type_vocab_size: 2, num_labels: labels, ...(id2label ? { id2label } : {}),
});

const s = suite('sampleBatches');

s("draws the asked number, seeded, batched by length, with each row's label", () => {
  const data = parseGlueTsv('sst2', sst2, 'dev.tsv');
  const a = sampleBatches(config(2), tokenizer, data, { count: 12, batchSize: 5, seed: 3 });
  const b = sampleBatches(config(2), tokenizer, data, { count: 12, batchSize: 5, seed: 3 });
  const c = sampleBatches(config(2), tokenizer, data, { count: 12, batchSize: 5, seed: 4 });
  assert.equal(a.batches.map((x) => x.tokens.batch), [5, 5, 2]);
  const ids = (r: typeof a) => r.batches.flatMap((x) => Array.from(x.tokens.inputIds));
  assert.equal(ids(a), ids(b), 'the same seed draws the same');
  assert.not.equal(ids(a), ids(c), 'another seed draws others');
  // Every row carries the label of the sentence it encodes.
  for (const batch of a.batches) {
    const labels = (batch.target as { labels: Int32Array }).labels;
    Array.from({ length: batch.tokens.batch }, (_, r) => r).forEach((r) => {
      const row = Array.from(batch.tokens.inputIds.slice(r * batch.tokens.seq, (r + 1) * batch.tokens.seq)).filter((t) => t !== 0);
      const match = data.examples.find((e) => JSON.stringify(Array.from(tokenizer.encode(e.textA, undefined, { maxLength: 128 }).inputIds)) === JSON.stringify(row));
      assert.ok(match, 'the row is one of the sentences');
      assert.is(labels[r], match!.label);
    });
  }
  assert.ok(a.meanTokens > 3 && a.meanTokens < 128);
  assert.is(sampleBatches(config(2), tokenizer, data, { count: 1000 }).batches.reduce((n, x) => n + x.tokens.batch, 0), data.examples.length, 'all, when fewer');
});

s('labels become model classes through id2label; STS-B gives float targets', () => {
  const data = parseGlueTsv('sst2', sst2, 'dev.tsv');
  const swapped = sampleBatches(config(2, { 0: '1', 1: '0' }), tokenizer, data, { count: 30, batchSize: 30 });
  const plain = sampleBatches(config(2), tokenizer, data, { count: 30, batchSize: 30 });
  const l = (r: typeof plain) => Array.from((r.batches[0]!.target as { labels: Int32Array }).labels);
  assert.equal(l(swapped), l(plain).map((v) => 1 - v));
  const scores = sampleBatches(config(1), tokenizer, parseGlueTsv('stsb', stsb, 'dev.tsv'), { count: 4, batchSize: 4 });
  const t = (scores.batches[0]!.target as { targets: Float32Array }).targets;
  assert.is(t.length, 4);
  assert.ok(Array.from(t).every((v) => v >= 0 && v <= 5));
});

s('an empty data set is refused', () => {
  assert.throws(() => sampleBatches(config(2), tokenizer, { task: 'sst2', labels: ['negative', 'positive'], examples: [] }), /the sample set is empty/);
});

s.run();

// ------------------------------------------------------------------ SQuAD

// A hand-made context of one-token words, 'paris france' at context tokens 24 and 25. With a
// 4-token question, 32 tokens a feature leave 25 for the context; docStride 8 moves the
// window by 17: [0, 25) holds only 'paris', [17, 42) both, [34, 59) and [51, 66) neither.
const fillers = ['red', 'green', 'blue', 'cat', 'dog', 'sun', 'moon', 'tree'];
const filler = (from: number, n: number) => Array.from({ length: n }, (_, i) => fillers[(from + i) % fillers.length]!);
const handContext = [...filler(0, 24), 'paris', 'france', ...filler(24, 40)].join(' ');
const handStart = filler(0, 24).join(' ').length + 1;
const small = { maxSeqLength: 32, docStride: 8 };
const handData = (): SquadData => parseSquadJson(JSON.stringify({ version: 'v2.0', data: [{ title: 'hand', paragraphs: [{ context: handContext, qas: [
  { id: 'answered', question: 'where is it?', answers: [{ text: 'paris france', answer_start: handStart }], is_impossible: false },
  { id: 'impossible', question: 'who is it?', answers: [], plausible_answers: [{ text: 'paris', answer_start: handStart }], is_impossible: true },
] }] }] }), 'hand.json');
const qaConfig = parseConfig({
  architectures: ['BertForQuestionAnswering'], model_type: 'bert', hidden_size: 12, num_attention_heads: 3, num_hidden_layers: 1,
  intermediate_size: 8, vocab_size: 30522, max_position_embeddings: 512, type_vocab_size: 2,
});
/** Each row of the batches as [its real ids, start, end]. */
const rowsOf = (batches: ReturnType<typeof sampleSquadBatches>['batches']) => batches.flatMap((b) => {
  const t = b.target as { startPositions: Int32Array; endPositions: Int32Array };
  return Array.from({ length: b.tokens.batch }, (_, r) => {
    const ids = Array.from(b.tokens.inputIds.slice(r * b.tokens.seq, (r + 1) * b.tokens.seq)).filter((_, c) => b.tokens.attentionMask[r * b.tokens.seq + c]);
    return { ids, start: t.startPositions[r]!, end: t.endPositions[r]! };
  });
});

const q = suite('sampleSquadBatches');

q("run_qa.py's training labels: the answer's tokens where the window holds it whole, [CLS] (0) elsewhere and for v2's impossible questions", () => {
  const data = handData();
  assert.equal(tokenizer.tokenize(handContext).ids.length, 66, 'one token a word');
  const features = squadFeatures(data.examples, tokenizer, small);
  const answered = features.filter((f) => f.exampleIndex === 0), impossible = features.filter((f) => f.exampleIndex === 1);
  assert.is(answered.length, 4);
  assert.equal(answered.map((f) => [f.startPosition, f.endPosition]), [[0, 0], [13, 14], [0, 0], [0, 0]], 'only the second window holds both tokens: 6 + 24 - 17 = 13');
  const f = answered[1]!;
  assert.is(handContext.slice(f.contextOffsets[f.startPosition]![0], f.contextOffsets[f.endPosition]![1]), 'paris france', 'the positions map back to the answer through the offsets');
  assert.ok(answered[0]!.contextOffsets.some((o) => o && handContext.slice(o[0], o[1]) === 'paris'), 'the first window holds the answer in part, and is labelled 0');
  assert.is(impossible.length, 4);
  assert.ok(impossible.every((x) => x.startPosition === 0 && x.endPosition === 0));

  // The batches carry the same labels on the same rows, padded rows and all.
  const { batches, meanTokens } = sampleSquadBatches(qaConfig, tokenizer, data, { ...small, batchSize: 3 });
  assert.equal(batches.map((b) => b.tokens.batch), [3, 3, 2]);
  const rows = rowsOf(batches);
  const key = (ids: ArrayLike<number>) => Array.from(ids).join(',');
  assert.equal(rows.map((r) => `${key(r.ids)}:${r.start},${r.end}`).sort(), features.map((x) => `${key(x.inputIds)}:${x.startPosition},${x.endPosition}`).sort());
  for (const b of batches) {
    const t = b.target as { startPositions: Int32Array };
    for (let r = 0; r < b.tokens.batch; r++) assert.is(b.tokens.inputIds[r * b.tokens.seq + t.startPositions[r]!], t.startPositions[r] ? tokenizer.tokenize('paris').ids[0] : tokenizer.special.cls);
  }
  assert.is(meanTokens, features.reduce((n, x) => n + x.inputIds.length, 0) / 8);
  const padded = sampleSquadBatches(qaConfig, tokenizer, data, { ...small, batchSize: 3, padToMaxLength: true });
  assert.ok(padded.batches.every((b) => b.tokens.seq === 32));
});

q('draws `count` questions, seeded; every window of each, labelled, in batches of 12 by default', () => {
  const data = parseSquadJson(JSON.stringify(squadSlice), 'dev-v1.1-slice.json');
  const a = sampleSquadBatches(qaConfig, tokenizer, data, { count: 30, seed: 3 });
  const b = sampleSquadBatches(qaConfig, tokenizer, data, { count: 30, seed: 3 });
  const c = sampleSquadBatches(qaConfig, tokenizer, data, { count: 30, seed: 4 });
  assert.equal(a.batches.map((x) => x.tokens.batch), [12, 12, 6], 'one feature a question at 384 tokens');
  assert.equal(rowsOf(a.batches), rowsOf(b.batches), 'the same seed draws the same');
  assert.not.equal(rowsOf(a.batches).map((r) => r.ids).sort(), rowsOf(c.batches).map((r) => r.ids).sort(), 'another seed draws other questions');
  // Each row is a feature of a question of the slice, with that feature's labels, which hold its first answer.
  const features = squadFeatures(data.examples, tokenizer);
  const byIds = new Map(features.map((f) => [f.inputIds.join(','), f]));
  for (const r of rowsOf(a.batches)) {
    const f = byIds.get(r.ids.join(','));
    assert.ok(f, 'the row is a feature of the slice');
    assert.equal([r.start, r.end], [f!.startPosition, f!.endPosition]);
    const ex = data.examples[f!.exampleIndex]!;
    assert.ok(ex.context.slice(f!.contextOffsets[r.start]![0], f!.contextOffsets[r.end]![1]).includes(ex.answers[0]!.text));
  }
  // Short windows overflow: more features than questions, as many as squadFeatures makes.
  const windows = sampleSquadBatches(qaConfig, tokenizer, data, { count: 5, seed: 3, maxSeqLength: 96, docStride: 24 });
  assert.ok(rowsOf(windows.batches).length > 5);
  assert.throws(() => sampleSquadBatches(qaConfig, tokenizer, { version: '1.1', examples: [] }), /the sample set is empty/);
});

q.run();

const e2e = gpuSuite('Fisher information of a question-answering model');

e2e('fisherInformation over sampleSquadBatches: finite, non-negative, not all zero, one term per feature', async ({ rt }) => {
  const config = smallConfig('BertForQuestionAnswering', { vocab_size: 30522, max_position_embeddings: 64 });
  const model = await EncoderModel.load(rt, config, makeCheckpoint(new Random(), config).source);
  const { batches } = sampleSquadBatches(config, tokenizer, handData(), { ...small, batchSize: 3 });
  const fi = await fisherInformation(model, batches);
  assert.is(fi.examples, 8);
  for (const [kind, v] of [['head', fi.head], ['neuron', fi.neuron]] as const) {
    assert.is(v.length, kind === 'head' ? 2 * 3 : 2 * 10);
    assert.ok(v.every((x) => Number.isFinite(x) && x >= 0), `${kind} importances are finite and non-negative: ${Array.from(v)}`);
    assert.ok(v.some((x) => x > 0), `${kind} importances are not all zero`);
  }
  model.dispose();
});

e2e.run();
