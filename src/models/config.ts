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
  /**
   * Each layer's attention heads and FFN neurons as config.json declares them: the full
   * sizes, unless its `pruned_heads` (Hugging Face's) or `wgprune_pruned` (ours) field says
   * the model is physically pruned. The weights must have exactly these sizes. Absent (a
   * config built in code): every layer full.
   */
  layerSizes?: { heads: number; neurons: number }[];
}

type Json = Record<string, unknown>;

/**
 * Sane ranges of the integer fields: far above any BERT-family model (BERT-large: 24 layers,
 * hidden 1,024, 16 heads, intermediate 4,096; XLM-R: 250,002 tokens), far below what would
 * make a bad value hang (an array of 2^31 labels) or overflow before the weights are seen.
 */
const LIMITS = {
  layers: 1024, hidden: 1 << 16, intermediate: 1 << 20, vocab: 1 << 24, positions: 1 << 20, typeVocab: 1 << 16, labels: 1 << 20,
} as const;

function field(json: Json, file: string, names: string[], fallback?: number): number {
  for (const name of names) {
    const v = json[name];
    if (v === undefined || v === null) continue; // Hugging Face writes null for "not set" (pad_token_id, at times)
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ModelError(`${file}: "${name}" is ${JSON.stringify(v)}, expected a number`);
    return v;
  }
  if (fallback !== undefined) return fallback;
  throw new ModelError(`${file}: "${names[0]}" is missing`);
}

/** An integer field in [min, max]; the message names the field as the file spells it. */
function intField(json: Json, file: string, names: string[], min: number, max: number, fallback?: number): number {
  const v = field(json, file, names, fallback);
  if (!Number.isInteger(v) || v < min || v > max) {
    const name = names.find((n) => json[n] !== undefined) ?? names[0];
    throw new ModelError(`${file}: "${name}" is ${v}, expected an integer from ${min} to ${max}`);
  }
  return v;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The class names from id2label, whose keys must be exactly "0" .. "n-1"; undefined when
 * absent (null is absent too, as Hugging Face writes it for question answering at times).
 */
function id2labelOf(c: Json, file: string): string[] | undefined {
  const v = c.id2label;
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new ModelError(`${file}: "id2label" is ${JSON.stringify(v)}, expected an object of class index to name`);
  const keys = Object.keys(v);
  if (keys.length > LIMITS.labels) throw new ModelError(`${file}: "id2label" names ${keys.length} classes, more than ${LIMITS.labels}`);
  const labels: string[] = new Array(keys.length);
  for (const k of keys) {
    const i = Number(k);
    if (!/^(0|[1-9][0-9]*)$/.test(k) || i >= keys.length) {
      throw new ModelError(`${file}: "id2label" has key ${JSON.stringify(k)}; its keys must be the class indices 0 to ${keys.length - 1}`);
    }
    labels[i] = String(v[k]);
  }
  return labels;
}

/**
 * Each layer's kept heads and neurons from `pruned_heads` ({ "layer": [pruned head
 * indices] }, Hugging Face's) and `wgprune_pruned` ({ heads_kept, intermediate_sizes }, what
 * wgprune writes), checked against each other and the full sizes.
 */
function layerSizesOf(c: Json, file: string, layers: number, heads: number, intermediate: number): { heads: number; neurons: number }[] {
  const sizes = Array.from({ length: layers }, () => ({ heads, neurons: intermediate }));
  const ph = c.pruned_heads;
  if (ph !== undefined && ph !== null) {
    if (!isObject(ph)) throw new ModelError(`${file}: "pruned_heads" is ${JSON.stringify(ph)}, expected an object of layer index to pruned head indices`);
    for (const [k, list] of Object.entries(ph)) {
      const layer = Number(k);
      if (!/^(0|[1-9][0-9]*)$/.test(k) || layer >= layers) throw new ModelError(`${file}: "pruned_heads" names layer ${JSON.stringify(k)}, but the model has layers 0 to ${layers - 1}`);
      if (!Array.isArray(list) || !list.every((h) => Number.isInteger(h) && h >= 0 && h < heads)) {
        throw new ModelError(`${file}: "pruned_heads" of layer ${k} is ${JSON.stringify(list).slice(0, 80)}, expected head indices from 0 to ${heads - 1}`);
      }
      sizes[layer]!.heads = heads - new Set(list).size; // as transformers: a set of heads
    }
  }
  const wp = c.wgprune_pruned;
  if (wp !== undefined && wp !== null) {
    if (!isObject(wp)) throw new ModelError(`${file}: "wgprune_pruned" is ${JSON.stringify(wp)}, expected { "heads_kept": [...], "intermediate_sizes": [...] }`);
    const list = (name: 'heads_kept' | 'intermediate_sizes', max: number): number[] | undefined => {
      const v = wp[name];
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || v.length !== layers || !v.every((x) => Number.isInteger(x) && x >= 0 && x <= max)) {
        throw new ModelError(`${file}: "wgprune_pruned.${name}" is ${JSON.stringify(v).slice(0, 80)}, expected ${layers} integers from 0 to ${max} (one a layer)`);
      }
      return v as number[];
    };
    const kept = list('heads_kept', heads), widths = list('intermediate_sizes', intermediate);
    kept?.forEach((h, l) => {
      if (h !== sizes[l]!.heads) {
        throw new ModelError(`${file}: "wgprune_pruned.heads_kept" keeps ${h} heads in layer ${l}, but "pruned_heads" leaves ${sizes[l]!.heads} of ${heads}: the config was edited`);
      }
    });
    widths?.forEach((n, l) => { sizes[l]!.neurons = n; });
  }
  return sizes;
}

/**
 * Reads config.json (parsed) into a ModelConfig, refusing what we cannot run: an unknown
 * model_type or architecture (the error lists what is supported), an activation other
 * than exact GELU, relative position embeddings, shapes that do not divide, and values no
 * model has: integer fields out of range, layer_norm_eps outside (0, 0.01], labels that
 * disagree with problem_type or with id2label, a pad token outside the vocabulary, pruned
 * layers (pruned_heads, wgprune_pruned) that do not fit the model (see the README, "What is checked, and what cannot be").
 */
export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ModelError(`${file}: expected a JSON object`);
  const c = json as Json;
  const archs = Array.isArray(c.architectures) ? (c.architectures as unknown[]).map(String) : [];
  const architecture = archs.find((a) => Object.prototype.hasOwnProperty.call(supportedArchitectures, a));
  const supported = Object.keys(supportedArchitectures).join(', ');
  if (!architecture) {
    throw new ModelError(`${file}: architectures ${JSON.stringify(archs).slice(0, 200)} has none we support; supported: ${supported}`);
  }
  const { type, head } = supportedArchitectures[architecture]!;
  if (c.model_type !== undefined && c.model_type !== type) {
    throw new ModelError(`${file}: model_type ${JSON.stringify(c.model_type).slice(0, 80)} does not match architecture ${architecture} (expected "${type}"); supported model types: bert, distilbert, roberta`);
  }
  const distil = type === 'distilbert';
  const act = String(c[distil ? 'activation' : 'hidden_act'] ?? 'gelu');
  if (act !== 'gelu') throw new ModelError(`${file}: activation ${JSON.stringify(act).slice(0, 80)} is not supported (only exact "gelu", as BERT uses)`);
  if (c.position_embedding_type !== undefined && c.position_embedding_type !== 'absolute') {
    throw new ModelError(`${file}: position_embedding_type ${JSON.stringify(c.position_embedding_type).slice(0, 80)} is not supported (only "absolute")`);
  }
  const hidden = intField(c, file, distil ? ['dim', 'hidden_size'] : ['hidden_size'], 1, LIMITS.hidden);
  const heads = intField(c, file, distil ? ['n_heads', 'num_attention_heads'] : ['num_attention_heads'], 1, LIMITS.hidden);
  if (hidden % heads !== 0) throw new ModelError(`${file}: hidden size ${hidden} is not divisible by ${heads} attention heads`);
  const layers = intField(c, file, distil ? ['n_layers', 'num_hidden_layers'] : ['num_hidden_layers'], 1, LIMITS.layers);
  const intermediate = intField(c, file, distil ? ['hidden_dim', 'intermediate_size'] : ['intermediate_size'], 1, LIMITS.intermediate);
  const vocabSize = intField(c, file, ['vocab_size'], 1, LIMITS.vocab);
  const maxPositions = intField(c, file, ['max_position_embeddings'], 1, LIMITS.positions);

  let numLabels = 2, labels: string[] = ['LABEL_0', 'LABEL_1'];
  let problemType: ModelConfig['problemType'] = 'single_label_classification';
  if (head === 'classification') {
    const named = id2labelOf(c, file);
    numLabels = intField(c, file, ['num_labels'], 1, LIMITS.labels, named ? named.length : 2);
    if (named && named.length !== numLabels) throw new ModelError(`${file}: "num_labels" is ${numLabels} but "id2label" names ${named.length} classes`);
    labels = named ?? Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);
    const problem = c.problem_type ?? (numLabels === 1 ? 'regression' : 'single_label_classification');
    if (problem !== 'regression' && problem !== 'single_label_classification') {
      throw new ModelError(`${file}: problem_type ${JSON.stringify(problem).slice(0, 80)} is not supported (regression or single_label_classification)`);
    }
    if ((problem === 'regression') !== (numLabels === 1)) {
      throw new ModelError(`${file}: problem_type "${problem}" with ${numLabels} label${numLabels === 1 ? '' : 's'}: ` +
        `${problem === 'regression' ? 'a regression model has one output' : 'a classifier has 2 or more classes'}`);
    }
    problemType = problem;
  }
  const layerNormEps = distil ? 1e-12 : field(c, file, ['layer_norm_eps'], 1e-12);
  // Real models use 1e-12 (BERT) to 1e-5 (RoBERTa); one past 0.01 would flatten every LayerNorm.
  if (!(layerNormEps > 0 && layerNormEps <= 0.01)) throw new ModelError(`${file}: "layer_norm_eps" is ${layerNormEps}, expected a small positive number, at most 0.01 (BERT's is 1e-12)`);
  const padTokenId = intField(c, file, ['pad_token_id'], 0, vocabSize - 1, type === 'roberta' ? 1 : 0);
  if (type === 'roberta' && padTokenId + 2 > maxPositions) {
    throw new ModelError(`${file}: RoBERTa's positions start after pad_token_id ${padTokenId}, so max_position_embeddings ${maxPositions} leaves no room for a token`);
  }
  const config: ModelConfig = {
    modelType: type,
    architecture,
    head,
    layers,
    hidden,
    heads,
    intermediate,
    vocabSize,
    maxPositions,
    typeVocabSize: distil ? 0 : intField(c, file, ['type_vocab_size'], 1, LIMITS.typeVocab, 2),
    layerNormEps,
    numLabels,
    problemType,
    padTokenId,
    labels,
  };
  config.layerSizes = layerSizesOf(c, file, layers, heads, intermediate);
  return config;
}

/** Longest input the model accepts: RoBERTa's positions start after the padding index. */
export function maxSequenceLength(config: ModelConfig): number {
  return config.modelType === 'roberta' ? config.maxPositions - config.padTokenId - 1 : config.maxPositions;
}
