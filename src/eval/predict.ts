import { makeBatches, restoreOrder, type Batch, type EncodedExample } from '../data/batch.js';
import type { SquadLogits } from '../data/squad.js';
import type { EncoderModel, ModelMasks } from '../models/model.js';
import { ModelError } from '../runtime/errors.js';

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
 * Refuses outputs with NaN or ±Inf: a metric or a prediction computed from them would look
 * like a result. `values` holds a batch's rows of `width` values, row r being example `indices[r]`.
 */
function checkFinite(values: ArrayLike<number>, width: number, indices: readonly number[], what: string): void {
  let bad = 0, first = -1;
  indices.forEach((example, r) => {
    for (let c = 0; c < width; c++) {
      const v = values[r * width + c]!;
      if (v - v !== 0) { bad++; if (first < 0 || example < first) first = example; break; }
    }
  });
  if (bad) {
    throw new ModelError(`the model's ${what} are NaN or infinite for ${bad} example${bad === 1 ? '' : 's'} of a batch of ${indices.length} (first: example ${first}, 0-based, of the input); ` +
      'no result is reported. Its weights hold non-finite values (loaded with --allow-nonfinite?) or overflow float32 on this input');
  }
}

/**
 * Class logits [examples, labels] (one value per example for regression), in input order.
 * One batch is in flight at a time: its logits are read back before the next is recorded.
 * Non-finite logits are refused (ModelError), never returned.
 */
export async function predictLogits(model: EncoderModel, examples: readonly EncodedExample[], opts: PredictOptions = {}): Promise<Float32Array> {
  const batches = batchesFor(model, examples, opts.batchSize ?? 32);
  const width = model.config.numLabels;
  const outputs: Float32Array[] = [];
  let done = 0;
  for (const b of batches) {
    const out = model.forward(b, opts.masks);
    if (out.kind !== 'classification') throw new Error('predictLogits: the model has a question-answering head; use predictSpans');
    const logits = (await out.logits.read()) as Float32Array;
    out.logits.dispose();
    checkFinite(logits, width, b.indices, 'logits');
    outputs.push(logits);
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
    checkFinite(start, b.seq, b.indices, 'start logits');
    checkFinite(end, b.seq, b.indices, 'end logits');
    b.indices.forEach((index, r) => {
      const n = features[index]!.inputIds.length;
      result[index] = { start: start.slice(r * b.seq, r * b.seq + n), end: end.slice(r * b.seq, r * b.seq + n) };
    });
    done += b.batch;
    opts.onProgress?.(done, features.length);
  }
  return result;
}
