import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { accuracy, argmaxRows, averageRanks, f1Binary, glueMetrics, matthews, pearson, spearman } from '../../src/data/metrics.js';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

const m = suite('GLUE metrics');
m('accuracy and binary F1 (positive class 1), by hand', () => {
  const labels = [1, 1, 0, 0, 1], preds = [1, 0, 1, 0, 1]; // tp 2, fp 1, fn 1, tn 1
  assert.is(accuracy(preds, labels), 0.6);
  close(f1Binary(preds, labels), 2 / 3, 1e-15);
  assert.is(f1Binary([0, 0], [0, 0]), 0); // no positives at all: 0, as scikit-learn
  assert.throws(() => accuracy([1], [1, 0]), /1 predictions for 2 labels/);
  assert.throws(() => accuracy([], []), /no examples/);
});
m("Matthews correlation: scikit-learn's documented example and the binary formula", () => {
  // matthews_corrcoef([+1, +1, +1, -1], [+1, -1, +1, +1]) = -0.33...
  close(matthews([1, 0, 1, 1], [1, 1, 1, 0]), -1 / 3, 1e-15);
  // tp 6, tn 3, fp 1, fn 2: (18 - 2) / sqrt(7 * 8 * 4 * 5)
  const labels = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0], preds = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1];
  close(matthews(preds, labels), 16 / Math.sqrt(7 * 8 * 4 * 5), 1e-15);
  assert.is(matthews([1, 1, 1], [1, 0, 1]), 0); // constant predictions: undefined, reported 0
  assert.is(matthews([0, 1, 2, 0], [0, 1, 2, 0]), 1); // multiclass
});
m("Pearson: Anscombe's quartet (r = 0.816 for each set)", () => {
  const x = [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5];
  const ys = [
    [8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68],
    [9.14, 8.14, 8.74, 8.77, 9.26, 8.10, 6.13, 3.10, 9.13, 7.26, 4.74],
    [7.46, 6.77, 12.74, 7.11, 7.81, 8.84, 6.08, 5.39, 8.15, 6.42, 5.73],
  ];
  for (const y of ys) close(pearson(x, y), 0.816, 5e-4, 'anscombe');
  close(pearson(x, ys[0]!), 0.81642051634484, 1e-12);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
});
m('Spearman: average ranks for ties (scipy docs: spearmanr([1,2,3,4,5], [5,6,7,8,7]) = 0.82078...)', () => {
  assert.equal(Array.from(averageRanks([5, 6, 7, 8, 7])), [1, 2, 3.5, 5, 3.5]);
  close(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 0.8207826816681233, 1e-14);
  // Wikipedia's IQ / hours-of-TV example: rho = -29/165
  close(spearman([106, 100, 86, 101, 99, 103, 97, 113, 112, 110], [7, 27, 2, 50, 28, 29, 20, 12, 6, 17]), -29 / 165, 1e-14);
});
m("each task's metrics", () => {
  assert.equal(Object.keys(glueMetrics('mrpc', [1, 0], [1, 1])), ['f1', 'accuracy']);
  assert.equal(Object.keys(glueMetrics('qqp', [1, 0], [1, 1])), ['f1', 'accuracy']);
  assert.equal(glueMetrics('cola', [1, 0, 1, 1], [1, 1, 1, 0]), { matthews: matthews([1, 0, 1, 1], [1, 1, 1, 0]) });
  assert.equal(Object.keys(glueMetrics('stsb', [1, 2, 3], [1, 3, 2])), ['pearson', 'spearman']);
  assert.equal(glueMetrics('mnli', [0, 1, 2], [0, 1, 1]), { accuracy: 2 / 3 });
  assert.equal(Array.from(argmaxRows([0.1, 0.9, 3, -1, 0, 0], 2)), [1, 0, 0]); // ties: the first class
});
m.run();
