// Length-bucketed batches with dynamic padding: examples sorted by length so that each
// batch pads to its own longest example, and the way back to the original order.
import { DataError } from './text.js';

/** What batching needs of an Encoding (src/io/tokenizer.ts). */
export interface EncodedExample {
  inputIds: ArrayLike<number>;
  tokenTypeIds: ArrayLike<number>;
}

export interface Batch {
  inputIds: Int32Array; // [batch, seq], padded with padId
  tokenTypeIds: Int32Array; // [batch, seq], padded with 0
  attentionMask: Int32Array; // [batch, seq], 1 on tokens, 0 on padding
  batch: number;
  /** The longest example of the batch (rounded up to padMultiple). */
  seq: number;
  /** indices[r] is the position in the input of the batch's row r. */
  indices: number[];
}

export interface BatchOptions {
  batchSize: number;
  /**
   * 'length' (default): batches of similar lengths, shortest first. 'shuffled': the same
   * length buckets, the batches in a seeded random order. 'input': the input order, no sorting.
   */
  order?: 'length' | 'shuffled' | 'input';
  seed?: number;
  padId?: number;
  /** Round seq up to a multiple of this (e.g. 8 for tiled kernels). */
  padMultiple?: number;
}

/** mulberry32: a small seeded generator, so that a shuffled order repeats. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeBatches(examples: readonly EncodedExample[], opts: BatchOptions): Batch[] {
  const { batchSize, order = 'length', padId = 0, padMultiple = 1 } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new DataError('batching', undefined, `batchSize ${batchSize} must be a positive integer`);
  const indices = examples.map((_, i) => i);
  // Stable: equal lengths keep the input order, so the batches are the same on every run.
  if (order !== 'input') indices.sort((a, b) => examples[a]!.inputIds.length - examples[b]!.inputIds.length || a - b);
  const groups: number[][] = [];
  for (let i = 0; i < indices.length; i += batchSize) groups.push(indices.slice(i, i + batchSize));
  if (order === 'shuffled') {
    const rand = seededRandom(opts.seed ?? 0);
    for (let i = groups.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [groups[i], groups[j]] = [groups[j]!, groups[i]!];
    }
  }
  return groups.map((rows) => {
    const longest = Math.max(...rows.map((i) => examples[i]!.inputIds.length));
    const seq = Math.ceil(Math.max(1, longest) / padMultiple) * padMultiple;
    const n = rows.length;
    const inputIds = new Int32Array(n * seq).fill(padId), tokenTypeIds = new Int32Array(n * seq), attentionMask = new Int32Array(n * seq);
    rows.forEach((i, r) => {
      const e = examples[i]!;
      if (e.tokenTypeIds.length !== e.inputIds.length) throw new DataError('batching', undefined, `example ${i} has ${e.inputIds.length} ids but ${e.tokenTypeIds.length} token types`);
      inputIds.set(e.inputIds, r * seq);
      tokenTypeIds.set(e.tokenTypeIds, r * seq);
      attentionMask.fill(1, r * seq, r * seq + e.inputIds.length);
    });
    return { inputIds, tokenTypeIds, attentionMask, batch: n, seq, indices: rows };
  });
}

/**
 * Puts per-example outputs back in input order: outputs[b] holds batch b's rows of `width`
 * values each (logits [batch, classes], a score [batch], ...). Returns [n, width].
 */
export function restoreOrder(batches: readonly Batch[], outputs: readonly ArrayLike<number>[], width: number): Float32Array {
  if (outputs.length !== batches.length) throw new DataError('batching', undefined, `${outputs.length} outputs for ${batches.length} batches`);
  const n = batches.reduce((s, b) => s + b.batch, 0);
  const out = new Float32Array(n * width);
  const seen = new Uint8Array(n);
  batches.forEach((b, k) => {
    const rows = outputs[k]!;
    if (rows.length !== b.batch * width) throw new DataError('batching', undefined, `batch ${k}: ${rows.length} values, expected ${b.batch} rows of ${width}`);
    b.indices.forEach((i, r) => {
      if (i >= n || seen[i]) throw new DataError('batching', undefined, `batch ${k}: example ${i} is out of range or repeated`);
      seen[i] = 1;
      for (let c = 0; c < width; c++) out[i * width + c] = rows[r * width + c]!;
    });
  });
  return out;
}

/** Total padding tokens of a batching: how much the length buckets saved is this vs. one global max. */
export function paddingTokens(batches: readonly Batch[]): number {
  let pad = 0;
  for (const b of batches) for (let i = 0; i < b.attentionMask.length; i++) pad += 1 - b.attentionMask[i]!;
  return pad;
}
