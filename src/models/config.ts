import { ModelError } from '../runtime/errors.js';

export type ModelType = 'bert' | 'distilbert' | 'roberta';
export type TaskHead = 'classification' | 'question-answering';

/** The architectures we run, by Hugging Face class name. */
export const supportedArchitectures: Record<string, { type: ModelType; head: TaskHead }> = {
  BertForSequenceClassification: { type: 'bert', head: 'classification' },
  BertForQuestionAnswering: { type: 'bert', head: 'question-answering' },
  DistilBertForSequenceClassification: { type: 'distilbert', head: 'classification' },
  DistilBertForQuestionAnswering: { type: 'distilbert', head: 'question-answering' },
  RobertaForSequenceClassification: { type: 'roberta', head: 'classification' },
  RobertaForQuestionAnswering: { type: 'roberta', head: 'question-answering' },
};

/** What the encoder needs from config.json, under one set of names for all three families. */
export interface ModelConfig {
  modelType: ModelType;
  architecture: string;
  head: TaskHead;
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocabSize: number;
  maxPositions: number;
  /** 0 for DistilBERT, which has no token types. */
  typeVocabSize: number;
  layerNormEps: number;
  /** Classes for classification (1: regression, as STS-B); 2 for question answering. */
  numLabels: number;
  problemType: 'regression' | 'single_label_classification';
  padTokenId: number;
  /** Class names by index, from id2label. */
  labels: string[];
}

type Json = Record<string, unknown>;

function field(json: Json, file: string, names: string[], fallback?: number): number {
  for (const name of names) {
    const v = json[name];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ModelError(`${file}: "${name}" is ${JSON.stringify(v)}, expected a number`);
    return v;
  }
  if (fallback !== undefined) return fallback;
  throw new ModelError(`${file}: "${names[0]}" is missing`);
}

function positiveInt(json: Json, file: string, names: string[], fallback?: number): number {
  const v = field(json, file, names, fallback);
  if (!Number.isInteger(v) || v < 1) throw new ModelError(`${file}: "${names[0]}" is ${v}, expected a positive integer`);
  return v;
}

/**
 * Reads config.json (parsed) into a ModelConfig, refusing what we cannot run: an unknown
 * model_type or architecture (the error lists what is supported), an activation other
 * than exact GELU, relative position embeddings, shapes that do not divide.
 */
export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ModelError(`${file}: expected a JSON object`);
  const c = json as Json;
  const archs = Array.isArray(c.architectures) ? (c.architectures as unknown[]).map(String) : [];
  const architecture = archs.find((a) => a in supportedArchitectures);
  const supported = Object.keys(supportedArchitectures).join(', ');
  if (!architecture) {
    throw new ModelError(`${file}: architectures ${JSON.stringify(archs)} has none we support; supported: ${supported}`);
  }
  const { type, head } = supportedArchitectures[architecture]!;
  if (c.model_type !== undefined && c.model_type !== type) {
    throw new ModelError(`${file}: model_type "${String(c.model_type)}" does not match architecture ${architecture} (expected "${type}"); supported model types: bert, distilbert, roberta`);
  }
  const distil = type === 'distilbert';
  const act = String(c[distil ? 'activation' : 'hidden_act'] ?? 'gelu');
  if (act !== 'gelu') throw new ModelError(`${file}: activation "${act}" is not supported (only exact "gelu", as BERT uses)`);
  if (c.position_embedding_type !== undefined && c.position_embedding_type !== 'absolute') {
    throw new ModelError(`${file}: position_embedding_type "${String(c.position_embedding_type)}" is not supported (only "absolute")`);
  }
  const hidden = positiveInt(c, file, distil ? ['dim', 'hidden_size'] : ['hidden_size']);
  const heads = positiveInt(c, file, distil ? ['n_heads', 'num_attention_heads'] : ['num_attention_heads']);
  if (hidden % heads !== 0) throw new ModelError(`${file}: hidden size ${hidden} is not divisible by ${heads} attention heads`);
  const id2label = c.id2label && typeof c.id2label === 'object' ? (c.id2label as Record<string, unknown>) : undefined;
  const numLabels = head === 'question-answering' ? 2 : positiveInt(c, file, ['num_labels'], id2label ? Object.keys(id2label).length : 2);
  const labels = Array.from({ length: numLabels }, (_, i) => String(id2label?.[String(i)] ?? `LABEL_${i}`));
  const problem = c.problem_type ?? (numLabels === 1 ? 'regression' : 'single_label_classification');
  if (head === 'classification' && problem !== 'regression' && problem !== 'single_label_classification') {
    throw new ModelError(`${file}: problem_type "${String(problem)}" is not supported (regression or single_label_classification)`);
  }
  return {
    modelType: type,
    architecture,
    head,
    layers: positiveInt(c, file, distil ? ['n_layers', 'num_hidden_layers'] : ['num_hidden_layers']),
    hidden,
    heads,
    intermediate: positiveInt(c, file, distil ? ['hidden_dim', 'intermediate_size'] : ['intermediate_size']),
    vocabSize: positiveInt(c, file, ['vocab_size']),
    maxPositions: positiveInt(c, file, ['max_position_embeddings']),
    typeVocabSize: distil ? 0 : positiveInt(c, file, ['type_vocab_size'], 2),
    layerNormEps: distil ? 1e-12 : field(c, file, ['layer_norm_eps'], 1e-12),
    numLabels,
    problemType: problem as ModelConfig['problemType'],
    padTokenId: field(c, file, ['pad_token_id'], type === 'roberta' ? 1 : 0),
    labels,
  };
}

/** Longest input the model accepts: RoBERTa's positions start after the padding index. */
export function maxSequenceLength(config: ModelConfig): number {
  return config.modelType === 'roberta' ? config.maxPositions - config.padTokenId - 1 : config.maxPositions;
}
