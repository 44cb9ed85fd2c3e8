import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGlueTsv } from '../../src/data/glue.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { parseConfig } from '../../src/models/config.js';
import { sampleBatches } from '../../src/prune/samples.js';
import vocab from '../fixtures/data/bert-base-uncased/vocab.txt' with { type: 'text' };
import tokenizerConfig from '../fixtures/data/bert-base-uncased/tokenizer_config.json' with { type: 'json' };
import sst2 from '../fixtures/data/glue/SST-2/dev.tsv' with { type: 'text' };
import stsb from '../fixtures/data/glue/STS-B/dev.tsv' with { type: 'text' };

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
