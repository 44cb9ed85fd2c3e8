import { makeBatches, seededRandom } from '../data/batch.js';
import { GLUE_TASK_INFO, type GlueData } from '../data/glue.js';
import { squadFeatures, type SquadData, type SquadFeatureOptions } from '../data/squad.js';
import { DataError } from '../data/text.js';
import { labelMap } from '../eval/task.js';
import type { Tokenizer } from '../io/tokenizer.js';
import { maxSequenceLength, type ModelConfig } from '../models/config.js';
import type { SampleBatch } from './fisher.js';

export interface SampleOptions {
  /** Examples drawn (default 2,048, docs/method.md's sample set); all of them if fewer. */
  count?: number;
  batchSize?: number;
  maxLength?: number;
  /** Seed of the draw, so that a run repeats. */
  seed?: number;
}

/** SQuAD's sample set: features as run_qa.py makes them (maxSeqLength 384, docStride 128, maxQueryLength 64). */
export interface SquadSampleOptions extends Omit<SampleOptions, 'maxLength'>, SquadFeatureOptions {
  /**
   * Pad every batch to maxSeqLength, as run_qa.py does (pad_to_max_length): the span loss's
   * softmax then runs over the same positions as Hugging Face's. Default false: each batch
   * is padded to its longest feature, which changes the loss only through the padding
   * positions' logits, at a fraction of the cost.
   */
  padToMaxLength?: boolean;
}

/** The first min(count, n) of a seeded permutation of 0..n-1: a partial Fisher-Yates shuffle. */
function drawIndices(n: number, count: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i), rand = seededRandom(seed);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rand() * (n - i));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.slice(0, count);
}

/**
 * The sample set of the Fisher step: `count` labelled examples drawn at random (seeded)
 * from a task's training data, tokenized and batched by length, each batch with the targets
 * its loss needs (model classes through the config's labels, or STS-B's scores). Also
 * returns the mean token count, the cost model's sequence length when the task has no
 * reference value.
 */
export function sampleBatches(config: ModelConfig, tokenizer: Tokenizer, data: GlueData, opts: SampleOptions = {}): { batches: SampleBatch[]; meanTokens: number } {
  const n = data.examples.length;
  if (n === 0) throw new DataError(data.task, undefined, 'the sample set is empty');
  const count = Math.min(opts.count ?? 2048, n);
  const chosen = drawIndices(n, count, opts.seed ?? 0).map((i) => data.examples[i]!);
  // Never longer than the model's positions (RoBERTa's start after the padding index).
  const maxLength = Math.min(opts.maxLength ?? 128, maxSequenceLength(config));
  const encodings = chosen.map((e) => tokenizer.encode(e.textA, e.textB, { maxLength }));
  const regression = GLUE_TASK_INFO[data.task].labels === null;
  const classes = regression ? null : labelMap(config, data.labels)!;
  const batches = makeBatches(encodings, { batchSize: opts.batchSize ?? 32, padId: config.padTokenId }).map((b) => ({
    tokens: b,
    target: regression
      ? { targets: Float32Array.from(b.indices, (i) => chosen[i]!.label) }
      : { labels: Int32Array.from(b.indices, (i) => classes![chosen[i]!.label]!) },
  }));
  const meanTokens = encodings.reduce((s, e) => s + e.inputIds.length, 0) / count;
  return { batches, meanTokens };
}

/**
 * SQuAD's sample set (v1.1 or v2.0): `count` training examples (questions) drawn as
 * sampleBatches draws them, each cut into one or more features (windows of its context) by
 * squadFeatures, with run_qa.py's training labels: the first answer's start and end tokens,
 * or both 0 ([CLS]) when the window does not hold the answer whole or the question has no
 * answer. Batches of 12 features (the reference code's SQuAD batch size), by length. A long
 * context gives several features, so there can be more rows than `count`; `meanTokens` is
 * the mean over features.
 */
export function sampleSquadBatches(config: ModelConfig, tokenizer: Tokenizer, data: SquadData, opts: SquadSampleOptions = {}): { batches: SampleBatch[]; meanTokens: number } {
  const n = data.examples.length;
  if (n === 0) throw new DataError('squad', undefined, 'the sample set is empty');
  const count = Math.min(opts.count ?? 2048, n);
  const chosen = drawIndices(n, count, opts.seed ?? 0).map((i) => data.examples[i]!);
  const { docStride = 128, maxQueryLength = 64 } = opts;
  const maxSeqLength = Math.min(opts.maxSeqLength ?? 384, maxSequenceLength(config));
  const features = squadFeatures(chosen, tokenizer, { maxSeqLength, docStride, maxQueryLength });
  const batches = makeBatches(features, { batchSize: opts.batchSize ?? 12, padId: config.padTokenId, ...(opts.padToMaxLength ? { padMultiple: maxSeqLength } : {}) }).map((b) => ({
    tokens: b,
    target: {
      startPositions: Int32Array.from(b.indices, (i) => features[i]!.startPosition),
      endPositions: Int32Array.from(b.indices, (i) => features[i]!.endPosition),
    },
  }));
  const meanTokens = features.reduce((s, f) => s + f.inputIds.length, 0) / features.length;
  return { batches, meanTokens };
}
