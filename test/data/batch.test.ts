import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeBatches, paddingTokens, restoreOrder } from '../../src/data/batch.js';

const example = (len: number, id: number) => ({ inputIds: Array.from({ length: len }, () => id), tokenTypeIds: Array.from({ length: len }, (_, i) => (i >= len - 1 ? 1 : 0)) });
const lengths = [5, 2, 9, 3, 3, 7, 1, 8];
const examples = lengths.map((l, i) => example(l, i + 10));

const b = suite('length-bucketed batches');
b('sorted by length, stable on ties; each batch padded to its own longest', () => {
  const batches = makeBatches(examples, { batchSize: 3, padId: 0 });
  assert.equal(batches.map((x) => x.indices), [[6, 1, 3], [4, 0, 5], [7, 2]]);
  assert.equal(batches.map((x) => x.seq), [3, 7, 9]);
  const first = batches[0]!;
  assert.equal(Array.from(first.inputIds), [16, 0, 0, 11, 11, 0, 13, 13, 13]);
  assert.equal(Array.from(first.attentionMask), [1, 0, 0, 1, 1, 0, 1, 1, 1]);
  assert.equal(Array.from(first.tokenTypeIds), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.is(paddingTokens(batches), 3 * 3 + 3 * 7 + 2 * 9 - lengths.reduce((s, l) => s + l, 0));
  assert.ok(paddingTokens(batches) < paddingTokens(makeBatches(examples, { batchSize: 3, order: 'input' })));
});
b('shuffled order: same buckets, seeded, repeatable', () => {
  const sorted = makeBatches(examples, { batchSize: 2 }).map((x) => x.indices);
  const s1 = makeBatches(examples, { batchSize: 2, order: 'shuffled', seed: 7 }).map((x) => x.indices);
  const s2 = makeBatches(examples, { batchSize: 2, order: 'shuffled', seed: 7 }).map((x) => x.indices);
  assert.equal(s1, s2);
  assert.equal([...s1].sort((x, y) => x[0]! - y[0]!), [...sorted].sort((x, y) => x[0]! - y[0]!));
});
b('padMultiple rounds seq up; restoreOrder puts outputs back in input order', () => {
  const batches = makeBatches(examples, { batchSize: 3, padMultiple: 4 });
  assert.equal(batches.map((x) => x.seq), [4, 8, 12]);
  // A fake model: two outputs per example, [its first token id, its length].
  const outputs = batches.map((x) => x.indices.flatMap((i) => [examples[i]!.inputIds[0]!, lengths[i]!]));
  const restored = restoreOrder(batches, outputs, 2);
  assert.equal(Array.from(restored), lengths.flatMap((l, i) => [i + 10, l]));
  assert.throws(() => restoreOrder(batches, outputs.slice(1), 2), /2 outputs for 3 batches/);
  assert.throws(() => makeBatches(examples, { batchSize: 0 }), /positive integer/);
});
b.run();
