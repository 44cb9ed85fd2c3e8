import * as assert from 'uvu/assert';
import { EncoderModel } from '../../src/models/model.js';
import { encoderLatency, fitLatency, forwardLatency, latencyOf, lutMismatch, measureLut, parseLut, searchByLatency, type LatencyLut } from '../../src/prune/latency.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { makeCheckpoint, smallConfig } from '../reference/model.js';

const rand = new Random();
const t = gpuSuite('latency');

t('fitLatency recovers a flat-then-linear curve, its threshold and the cost of an empty block', () => {
  const truth = { zero: 0.05, constant: 2, threshold: 6, slope: 0.5 };
  const points = [0, 1, 2, 4, 6, 8, 10, 12, 16].map((kept) => ({ kept, ms: latencyOf(truth, kept) }));
  const fit = fitLatency(points);
  assert.equal(fit.threshold, 6);
  assert.ok(Math.abs(fit.constant - 2) < 1e-9 && Math.abs(fit.slope - 0.5) < 1e-9 && fit.zero === 0.05, JSON.stringify(fit));
  // Noise moves it little; a decreasing series gets slope 0, never a negative one.
  const noisy = fitLatency(points.map((p, i) => ({ kept: p.kept, ms: p.ms * (1 + (i % 2 ? 0.01 : -0.01)) })));
  assert.ok(Math.abs(noisy.slope - 0.5) < 0.05 && Math.abs(noisy.threshold - 6) <= 2, JSON.stringify(noisy));
  assert.is(fitLatency([{ kept: 1, ms: 3 }, { kept: 2, ms: 2 }, { kept: 3, ms: 1 }]).slope, 0);
  assert.throws(() => fitLatency([{ kept: 0, ms: 1 }]), /no measurement with units kept/);
});

const lut = (attention: { zero: number; constant: number; threshold: number; slope: number }, ffn: typeof attention, heads: number, intermediate: number): LatencyLut => ({
  adapter: 'test', shape: { hidden: 8, heads, intermediate, batch: 1, seq: 4 }, attention: [], ffn: [], fit: { attention, ffn }, ffnStep: 1,
});

t('searchByLatency equals exhaustive search over every subset of heads and neurons (integer costs, so the rounding is exact)', () => {
  const L = 2, A = 2, I = 3;
  const table = lut({ zero: 0, constant: 3, threshold: 1, slope: 2 }, { zero: 1, constant: 2, threshold: 2, slope: 1 }, A, I);
  const shape = { layers: L, heads: A, hidden: 8, intermediate: I, seqLen: 4 };
  const full = encoderLatency(table, [A, A], [I, I]);
  for (let trial = 0; trial < 20; trial++) {
    const hi = Array.from(rand.uniform(L * A, 0, 1)), ni = Array.from(rand.uniform(L * I, 0, 1));
    for (const budgetUnits of [6, 9, 12, 15]) {
      const constraint = budgetUnits / full;
      const r = searchByLatency(hi, ni, shape, table, constraint, { resolution: budgetUnits * 4 });
      let best = -Infinity;
      for (let m = 0; m < 1 << (L * (A + I)); m++) {
        const bit = (i: number) => (m >> i) & 1;
        const heads = [0, 1].map((l) => bit(l * A) + bit(l * A + 1));
        const neurons = [0, 1].map((l) => [0, 1, 2].reduce((s, j) => s + bit(L * A + l * I + j), 0));
        if (encoderLatency(table, heads, neurons) > budgetUnits + 1e-9) continue;
        let score = 0;
        for (let i = 0; i < L * A; i++) score += bit(i) * hi[i]!;
        for (let i = 0; i < L * I; i++) score += bit(L * A + i) * ni[i]!;
        best = Math.max(best, score);
      }
      assert.ok(Math.abs(r.score - best) < 1e-9, `trial ${trial}, budget ${budgetUnits}: ${r.score} vs exhaustive ${best}`);
      assert.ok(r.latency.ms <= budgetUnits + 1e-9, `latency ${r.latency.ms} within ${budgetUnits}`);
      const kept = r.headMask.flatMap((l) => Array.from(l)).reduce((s, v, i) => s + v * hi[i]!, 0) + r.neuronMask.flatMap((l) => Array.from(l)).reduce((s, v, i) => s + v * ni[i]!, 0);
      assert.ok(Math.abs(kept - r.score) < 1e-9, 'the masks are the scored units');
    }
  }
});

t('searchByLatency drops a whole block when its constant is worth more than its units', () => {
  // Attention costs 10 as soon as one head is kept; the heads are nearly worthless.
  const table = lut({ zero: 0, constant: 10, threshold: 4, slope: 0 }, { zero: 0, constant: 0, threshold: 0, slope: 1 }, 4, 20);
  const shape = { layers: 2, heads: 4, hidden: 8, intermediate: 20, seqLen: 4 };
  const r = searchByLatency(Array(8).fill(0.001), Array(40).fill(1), shape, table, 0.5);
  assert.equal(r.headMask.map((l) => Array.from(l).reduce((a, b) => a + b, 0)), [0, 0]);
  assert.is(r.neurons, 30, 'the budget (30 of 60) goes to neurons');
  assert.throws(() => searchByLatency(Array(8).fill(1), Array(40).fill(1), shape, table, 1.5), /in \(0, 1\)/);
});

t('lutMismatch names both adapters and shapes; parseLut refuses a broken table', () => {
  const table = lut({ zero: 0, constant: 1, threshold: 1, slope: 1 }, { zero: 0, constant: 1, threshold: 1, slope: 1 }, 4, 16);
  assert.is(lutMismatch(table, 'test', { hidden: 8, heads: 4, intermediate: 16 }), null);
  const m = lutMismatch(table, 'other gpu', { hidden: 768, heads: 12, intermediate: 3072 })!;
  assert.match(m, 'measured on "test", this is "other gpu"');
  assert.match(m, 'hidden 8, 4 heads, 16 neurons, this one has hidden 768, 12 heads, 3072 neurons');
  assert.throws(() => parseLut({ adapter: 'x' }, 'l.json'), /l.json: "shape" must hold/);
  assert.throws(() => parseLut({ ...table, fit: { attention: table.fit.attention, ffn: { zero: -1 } } }), /"fit" must hold/);
  assert.equal(parseLut(JSON.parse(JSON.stringify(table))), table);
});

t('measureLut and forwardLatency measure on the device: every count, positive times, a fit for each block', async ({ rt }) => {
  const config = smallConfig('BertForSequenceClassification', { num_labels: 2 });
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const timing = { warmup: 1, minRuns: 2, minMs: 0 };
  const f = await forwardLatency(model, { batch: 2, seq: 8 }, timing);
  assert.ok(f.medianMs > 0 && f.minMs <= f.medianMs && f.medianMs <= f.maxMs && f.runs >= 2, JSON.stringify(f));
  await forwardLatency(model, { batch: 1, seq: 17 }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, 'an integer in 1..16'));
  const progress: number[] = [];
  const table = await measureLut(rt, { hidden: 12, heads: 3, intermediate: 10, batch: 2, seq: 8 }, { ffnStep: 4, timing, onProgress: (d) => progress.push(d) });
  assert.equal(table.attention.map((p) => p.kept), [0, 1, 2, 3]);
  assert.equal(table.ffn.map((p) => p.kept), [0, 4, 8, 10]);
  assert.ok([...table.attention, ...table.ffn].every((p) => p.ms > 0));
  assert.is(progress.at(-1), 8);
  assert.ok(table.fit.attention.constant > 0 && table.fit.ffn.slope >= 0);
  model.dispose();
});

t.run();
