import type { SampleBatch } from '../../src/prune/fisher.js';

/**
 * `count` sample batches of `perBatch` random sequences padded to `seq` tokens (each 3 to
 * seq tokens long, a first token 2, others from 5 .. 34), labelled by length parity: the
 * small classifiers of the pruning tests (vocabulary of at least 35).
 */
export function randomSampleBatches(rand: { uniform(n: number, lo?: number, hi?: number): Float64Array }, count: number, perBatch: number, seq: number): SampleBatch[] {
  const r01 = () => rand.uniform(1, 0, 1)[0]!;
  return Array.from({ length: count }, () => {
    const lengths = Array.from({ length: perBatch }, () => 3 + Math.floor(r01() * (seq - 2)));
    const inputIds = new Int32Array(perBatch * seq), attentionMask = new Int32Array(perBatch * seq);
    lengths.forEach((n, r) => { for (let i = 0; i < n; i++) { inputIds[r * seq + i] = i === 0 ? 2 : 5 + Math.floor(r01() * 30); attentionMask[r * seq + i] = 1; } });
    return { tokens: { batch: perBatch, seq, inputIds, attentionMask }, target: { labels: Int32Array.from(lengths, (n) => n % 2) } };
  });
}
