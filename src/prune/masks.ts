import type { EncoderModel } from '../models/model.js';
import { fisherInformation, type FisherInformation, type SampleBatch } from './fisher.js';
import { rearrangeByGram } from './rearrange.js';
import { searchByFlops, type SearchResult } from './search.js';
import type { CostShape } from './flops.js';
import { searchByLatency, type LatencyLut } from './latency.js';
import { WgpruneError } from '../runtime/errors.js';

export interface MaskOptions {
  /** Fraction of the encoder's MACs to keep, in (0, 1). */
  constraint: number;
  /** The task's average sequence length, for the cost model (see flops.ts). */
  seqLen: number;
  /** Fisher from per-batch gradients (the reference code) rather than per-example ones (the paper). */
  perBatch?: boolean;
  /** Search by latency with this table instead of by MACs (the constraint is then a fraction of the latency). */
  lut?: LatencyLut;
  /** Batches of the Fisher pass done, of the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface FoundMasks {
  /** Binary masks, [layers][heads] and [layers][intermediate]: 1 kept, 0 pruned. */
  head: number[][];
  neuron: number[][];
  search: SearchResult;
  fisher: FisherInformation;
  /** Σ over layers of the Fisher-block loss of the pruned sets before and after step 3. */
  loss: { before: number; after: number };
  /** Wall time of each step, ms. */
  timings: { fisher: number; search: number; rearrange: number };
}

/**
 * Steps 1-3 of docs/method.md: the Fisher information of the masks over the sample batches (with
 * the per-layer Gram matrices of the gradients), the search for how many heads and neurons
 * to keep under the MACs constraint, and, layer by layer, the rearrangement of which ones,
 * keeping each layer's counts. The masks are binary: tuning their values (step 4) is not
 * done here.
 */
export async function findMasks(model: EncoderModel, batches: Iterable<SampleBatch>, options: MaskOptions): Promise<FoundMasks> {
  const t0 = performance.now();
  const fisher = await fisherInformation(model, batches, { perBatch: options.perBatch ?? false, grams: true, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  const tFisher = performance.now() - t0;
  const c = model.config;
  const found = masksFromFisher(fisher, { layers: model.weights.layers.length, heads: c.heads, hidden: c.hidden, intermediate: c.intermediate, seqLen: options.seqLen }, options.constraint, options.lut);
  return { ...found, timings: { ...found.timings, fisher: tFisher } };
}

/** Step 2: the search by MACs, or by latency with `lut`. */
export function searchMasks(fisher: Pick<FisherInformation, 'head' | 'neuron'>, shape: CostShape, constraint: number, lut?: LatencyLut): SearchResult {
  return lut ? searchByLatency(fisher.head, fisher.neuron, shape, lut, constraint) : searchByFlops(fisher.head, fisher.neuron, shape, constraint);
}

/**
 * Steps 2-3 from a Fisher pass (the search by MACs, or by latency with `lut`) taken with its Gram matrices: the search under the MACs
 * constraint, then each layer's rearrangement with its own Gram matrix and importances.
 * One Fisher pass serves any number of constraints.
 */
export function masksFromFisher(fisher: FisherInformation, shape: CostShape, constraint: number, lut?: LatencyLut): FoundMasks {
  if (!fisher.headGrams || !fisher.neuronGrams) throw new WgpruneError('masksFromFisher: the Fisher pass was taken without its Gram matrices (grams: true)');
  let t0 = performance.now();
  const search = searchMasks(fisher, shape, constraint, lut);
  const tSearch = performance.now() - t0;
  t0 = performance.now();
  const loss = { before: 0, after: 0 };
  const rearranged = (masks: Uint8Array[], grams: Float64Array[], importance: Float64Array, k: number) => masks.map((m, l) => {
    const pruned = k - m.reduce((a, v) => a + v, 0);
    const r = rearrangeByGram(grams[l]!, k, importance.subarray(l * k, (l + 1) * k), pruned);
    loss.before += r.lossBefore;
    loss.after += r.lossAfter;
    return Array.from(r.mask);
  });
  const head = rearranged(search.headMask, fisher.headGrams, fisher.head, shape.heads);
  const neuron = rearranged(search.neuronMask, fisher.neuronGrams, fisher.neuron, shape.intermediate);
  return { head, neuron, search, fisher, loss, timings: { fisher: 0, search: tSearch, rearrange: performance.now() - t0 } };
}
