import { makeBatches, seededRandom } from '../data/batch.js';
import { GLUE_TASK_INFO, type GlueData } from '../data/glue.js';
import { DataError } from '../data/text.js';
import { labelMap } from '../eval/task.js';
import type { Tokenizer } from '../io/tokenizer.js';
import type { ModelConfig } from '../models/config.js';
import type { SampleBatch } from './fisher.js';

export interface SampleOptions {
  /** Examples drawn (default 2,048, METHOD.md's sample set); all of them if fewer. */
  count?: number;
  batchSize?: number;
  maxLength?: number;
  /** Seed of the draw, so that a run repeats. */
  seed?: number;
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
  // A partial Fisher-Yates shuffle: the first `count` of a seeded permutation.
  const order = Array.from({ length: n }, (_, i) => i), rand = seededRandom(opts.seed ?? 0);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rand() * (n - i));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const chosen = order.slice(0, count).map((i) => data.examples[i]!);
  const encodings = chosen.map((e) => tokenizer.encode(e.textA, e.textB, { maxLength: opts.maxLength ?? 128 }));
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
