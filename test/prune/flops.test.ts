import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkCostShape, encoderMacs, headMacs, neuronMacs } from '../../src/prune/flops.js';

const bertBase = { layers: 12, heads: 12, hidden: 768, intermediate: 3072, seqLen: 128 };

const f = suite('cost model');
f("BERT-base at 128 tokens: one head, one neuron, the encoder", () => {
  assert.is(headMacs(bertBase), 4 * 128 * 768 * 64 + 2 * 128 * 128 * 64); // 27,262,976
  assert.is(neuronMacs(bertBase), 2 * 128 * 768); // 196,608
  // 22.35 GFLOP a sequence, as the bench counts the forward's matmuls.
  assert.is(encoderMacs(bertBase), 12 * (12 * 27_262_976 + 3072 * 196_608));
  assert.is(encoderMacs(bertBase, 0, 0), 0);
  assert.is(encoderMacs(bertBase, 1, 2), 27_262_976 + 2 * 196_608);
});
f('shapes that make no sense are refused', () => {
  assert.throws(() => checkCostShape({ ...bertBase, heads: 5 }), /hidden size 768 is not a multiple of 5 heads/);
  assert.throws(() => checkCostShape({ ...bertBase, layers: 0 }), /layers must be a positive integer, got 0/);
  assert.throws(() => checkCostShape({ ...bertBase, seqLen: NaN }), /sequence length must be positive/);
});
f.run();
