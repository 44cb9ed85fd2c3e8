import { GLUE_TASK_INFO, glueTask, type GlueData, type GlueTask } from '../data/glue.js';
import { argmaxRows, glueMetrics } from '../data/metrics.js';
import { squadFeatures, squadMetrics, squadPredictions, type SquadData, type SquadPrediction } from '../data/squad.js';
import type { Tokenizer } from '../io/tokenizer.js';
import type { ModelConfig } from '../models/config.js';
import { maxSequenceLength } from '../models/config.js';
import type { EncoderModel } from '../models/model.js';
import { ModelError } from '../runtime/errors.js';
import { predictLogits, predictSpans, type PredictOptions } from './predict.js';

export type TaskName = GlueTask | 'squad' | 'squad-v2';

export function taskName(name: string): TaskName {
  const n = name.toLowerCase().replace(/_/g, '-');
  if (n === 'squad' || n === 'squad-v1' || n === 'squad-v1.1') return 'squad';
  if (n === 'squad-v2' || n === 'squad-v2.0' || n === 'squad2') return 'squad-v2';
  return glueTask(name);
}

/**
 * Maps the dataset's label list onto the model's classes: by name when every dataset label
 * names one of the model's (id2label), so an MNLI model with its own label order still
 * scores right; by index otherwise, as GLUE fine-tuning scripts assign them.
 */
export function labelMap(config: ModelConfig, labels: readonly string[] | null): number[] | null {
  if (!labels) return null;
  const model = config.labels.map((l) => l.toLowerCase());
  const byName = labels.map((l) => model.indexOf(l.toLowerCase()));
  if (byName.every((i) => i >= 0)) return byName;
  if (labels.length !== config.numLabels) {
    throw new ModelError(`the task has ${labels.length} labels (${labels.join(', ')}) but the model has ${config.numLabels} classes (${config.labels.join(', ')})`);
  }
  return labels.map((_, i) => i);
}

export interface GlueResult {
  task: GlueTask;
  examples: number;
  metrics: Record<string, number>;
  /** [examples, labels] (or [examples] for regression), input order. */
  logits: Float32Array;
  /** Predicted dataset label index (or score), input order. */
  predictions: Float64Array;
}

export async function evaluateGlue(model: EncoderModel, tokenizer: Tokenizer, data: GlueData, opts: PredictOptions & { maxLength?: number } = {}): Promise<GlueResult> {
  const config = model.config;
  if (config.head !== 'classification') throw new ModelError(`${data.task} needs a sequence-classification model, but this one is ${config.architecture}`);
  const regression = GLUE_TASK_INFO[data.task].labels === null;
  if (regression !== (config.problemType === 'regression')) {
    throw new ModelError(`${data.task} is ${regression ? 'a regression' : 'a classification'} task, but the model is ${config.problemType === 'regression' ? 'a regression' : 'a classification'} model (num_labels ${config.numLabels})`);
  }
  // Model class -> dataset label index; a mismatch fails here, before the pass over the data.
  const map = regression ? null : labelMap(config, data.labels)!;
  const maxLength = Math.min(opts.maxLength ?? 128, maxSequenceLength(config));
  const encodings = data.examples.map((e) => tokenizer.encode(e.textA, e.textB, { maxLength }));
  const logits = await predictLogits(model, encodings, opts);
  let predictions: Float64Array;
  if (!map) {
    predictions = Float64Array.from(logits);
  } else {
    const toDataset = new Map(map.map((cls, label) => [cls, label]));
    predictions = Float64Array.from(argmaxRows(logits, config.numLabels), (cls) => toDataset.get(cls) ?? -1);
  }
  const labels = data.examples.map((e) => e.label);
  return { task: data.task, examples: data.examples.length, metrics: glueMetrics(data.task, predictions, labels), logits, predictions };
}

export interface SquadResult {
  examples: number;
  features: number;
  metrics: Record<string, number>;
  predictions: Map<string, SquadPrediction>;
}

export async function evaluateSquad(model: EncoderModel, tokenizer: Tokenizer, data: SquadData, version2: boolean,
  opts: PredictOptions & { maxLength?: number; docStride?: number; maxAnswerLength?: number; nullThreshold?: number } = {}): Promise<SquadResult> {
  if (model.config.head !== 'question-answering') throw new ModelError(`SQuAD needs a question-answering model, but this one is ${model.config.architecture}`);
  const maxSeqLength = Math.min(opts.maxLength ?? 384, maxSequenceLength(model.config));
  const features = squadFeatures(data.examples, tokenizer, { maxSeqLength, docStride: opts.docStride ?? 128 });
  const logits = await predictSpans(model, features, opts);
  const predictions = squadPredictions(data.examples, features, logits, {
    version2, maxAnswerLength: opts.maxAnswerLength ?? 30, nullThreshold: opts.nullThreshold ?? 0,
  });
  const scores = squadMetrics(data.examples, predictions, version2);
  const metrics: Record<string, number> = { exactMatch: scores.exactMatch, f1: scores.f1 };
  for (const part of ['hasAns', 'noAns'] as const) {
    const s = scores[part];
    if (s) Object.assign(metrics, { [`${part}ExactMatch`]: s.exactMatch, [`${part}F1`]: s.f1, [`${part}Total`]: s.total });
  }
  return { examples: data.examples.length, features: features.length, metrics, predictions };
}
