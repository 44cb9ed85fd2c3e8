import { makeBatches, restoreOrder, type Batch, type EncodedExample } from '../data/batch.js';
import type { SquadLogits } from '../data/squad.js';
import type { EncoderModel, ModelMasks } from '../models/model.js';

export interface PredictOptions {
  batchSize?: number;
  masks?: ModelMasks;
  /** Called after each batch with examples done and total. */
  onProgress?: (done: number, total: number) => void;
}

function batchesFor(model: EncoderModel, examples: readonly EncodedExample[], batchSize: number): Batch[] {
  // Length buckets keep padding small; padding with the model's own pad id matters for
  // RoBERTa, whose position ids skip pad tokens.
  return makeBatches(examples, { batchSize, padId: model.config.padTokenId });
}

/**
 * Class logits [examples, labels] (one value per example for regression), in input order.
 * One batch is in flight at a time: its logits are read back before the next is recorded.
 */
export async function predictLogits(model: EncoderModel, examples: readonly EncodedExample[], opts: PredictOptions = {}): Promise<Float32Array> {
  const batches = batchesFor(model, examples, opts.batchSize ?? 32);
  const width = model.config.numLabels;
  const outputs: Float32Array[] = [];
  let done = 0;
  for (const b of batches) {
    const out = model.forward(b, opts.masks);
    if (out.kind !== 'classification') throw new Error('predictLogits: the model has a question-answering head; use predictSpans');
    outputs.push((await out.logits.read()) as Float32Array);
    out.logits.dispose();
    done += b.batch;
    opts.onProgress?.(done, examples.length);
  }
  return restoreOrder(batches, outputs, width);
}

/** Start and end logits per SQuAD feature, in input order, each trimmed to its own length. */
export async function predictSpans(model: EncoderModel, features: readonly EncodedExample[], opts: PredictOptions = {}): Promise<SquadLogits[]> {
  const batches = batchesFor(model, features, opts.batchSize ?? 16);
  const result: SquadLogits[] = new Array(features.length);
  let done = 0;
  for (const b of batches) {
    const out = model.forward(b, opts.masks);
    if (out.kind !== 'question-answering') throw new Error('predictSpans: the model has a classification head; use predictLogits');
    const [start, end] = await Promise.all([out.start.read(), out.end.read()]);
    out.start.dispose();
    out.end.dispose();
    b.indices.forEach((index, r) => {
      const n = features[index]!.inputIds.length;
      result[index] = { start: start.slice(r * b.seq, r * b.seq + n), end: end.slice(r * b.seq, r * b.seq + n) };
    });
    done += b.batch;
    opts.onProgress?.(done, features.length);
  }
  return result;
}
