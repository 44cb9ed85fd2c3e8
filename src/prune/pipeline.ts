import type { EncoderModel } from '../models/model.js';
import { WgpruneError } from '../runtime/errors.js';
import { prunedCheckpoint, type PrunedCheckpoint } from './export.js';
import type { SampleBatch } from './fisher.js';
import { findMasks, searchMasks, type FoundMasks } from './masks.js';
import type { LatencyLut } from './latency.js';
import { tuneMasks, type Masks, type TunedMasks } from './tune.js';

export interface PruneOptions {
  /** Fraction of the encoder's MACs to keep, in (0, 1). */
  constraint: number;
  /** Sequence length of the cost model (the task's average). */
  seqLen: number;
  /** Fisher from per-batch gradients (the reference code) rather than per example (the paper). */
  perBatch?: boolean;
  /** Search by latency with this table (the constraint is then a fraction of the latency) instead of by MACs. */
  lut?: LatencyLut;
  /** Step 4 (default on); off leaves the rearranged binary masks. */
  tune?: boolean;
  /** Tuning's ridge toward 1 (default 1, the reference code's). */
  damping?: number;
  /** Tune layer 0's attention too (the reference code skips it). */
  tuneFirstAttention?: boolean;
  /** Tuning's targets: the unpruned model (default), or the reference code's teacher, the search's masks at √C. */
  teacher?: 'full' | 'sqrt';
  /** Progress of the long steps: the step's name, and units done of the total. */
  onProgress?: (step: 'fisher' | 'tune', done: number, total: number) => void;
}

export interface PruneResult {
  found: FoundMasks;
  /** Binary masks of the search (step 2) and after rearrangement (step 3). */
  searched: Masks;
  rearranged: Masks;
  /** Step 4's result, when tuning ran. */
  tuned?: TunedMasks;
  /** The final mask values: tuned, or the rearranged ones. */
  masks: Masks;
  /** The physically pruned model with the mask values folded in (step 5). */
  checkpoint: PrunedCheckpoint;
  /** Wall time of each step, ms. */
  timings: { fisher: number; search: number; rearrange: number; tune: number; export: number };
}

const binary = (m: Uint8Array[]) => m.map((l) => Array.from(l));

/**
 * The whole method (docs/method.md steps 1-5) on an unpruned model: Fisher information over
 * the sample batches, the search under the MACs constraint, the per-layer rearrangement,
 * mask tuning, and the physically pruned checkpoint with the mask values folded in.
 * `configJson` is the model's config.json, which the pruned one extends. Classification
 * and regression tune the last FFN on the first token only, question answering on every token.
 */
export async function pruneModel(model: EncoderModel, batches: readonly SampleBatch[], configJson: Record<string, unknown>, options: PruneOptions): Promise<PruneResult> {
  const c = model.config, L = c.layers;
  if (options.teacher !== undefined && options.teacher !== 'full' && options.teacher !== 'sqrt') {
    throw new WgpruneError(`pruneModel: the teacher is "full" or "sqrt", got "${String(options.teacher)}"`);
  }
  const found = await findMasks(model, batches, {
    constraint: options.constraint, seqLen: options.seqLen, perBatch: options.perBatch ?? false, ...(options.lut ? { lut: options.lut } : {}),
    ...(options.onProgress ? { onProgress: (d: number, t: number) => options.onProgress!('fisher', d, t) } : {}),
  });
  const searched = { head: binary(found.search.headMask), neuron: binary(found.search.neuronMask) };
  const rearranged = { head: found.head.map((l) => [...l]), neuron: found.neuron.map((l) => [...l]) };
  let tuned: TunedMasks | undefined;
  let t0 = performance.now();
  if (options.tune ?? true) {
    let teacher: Masks | undefined;
    if (options.teacher === 'sqrt') {
      const shape = { layers: L, heads: c.heads, hidden: c.hidden, intermediate: c.intermediate, seqLen: options.seqLen };
      const s = searchMasks(found.fisher, shape, Math.sqrt(options.constraint), options.lut);
      teacher = { head: binary(s.headMask), neuron: binary(s.neuronMask) };
    }
    tuned = await tuneMasks(model, batches, rearranged, {
      damping: options.damping ?? 1, firstAttention: options.tuneFirstAttention ?? false, firstTokenOnly: c.head === 'classification',
      ...(teacher ? { teacher } : {}),
      ...(options.onProgress ? { onProgress: (d: number, t: number) => options.onProgress!('tune', d, t) } : {}),
    });
  }
  const tTune = performance.now() - t0;
  const masks = tuned ? { head: tuned.head, neuron: tuned.neuron } : rearranged;
  t0 = performance.now();
  const checkpoint = await prunedCheckpoint(model, configJson, masks);
  return {
    found, searched, rearranged, ...(tuned ? { tuned } : {}), masks, checkpoint,
    timings: { ...found.timings, tune: tTune, export: performance.now() - t0 },
  };
}
