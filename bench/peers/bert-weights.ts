// A BERT classifier's weights as plain arrays, for the peers that rebuild the model in their
// own framework (TF.js, PyTorch): read once from the same WeightSource that wgprune loads,
// so that every implementation runs the same numbers.
import type { ModelConfig } from '../../src/models/config.js';
import { parameterNames, type WeightSource } from '../../src/models/weights.js';

/** A row-major tensor: nn.Linear weights are [out, in], as Hugging Face stores them. */
export interface PlainTensor {
  data: Float32Array;
  shape: number[];
}

export interface PlainLinear {
  weight: PlainTensor;
  bias: PlainTensor;
}

export interface PlainNorm {
  gamma: PlainTensor;
  beta: PlainTensor;
}

export interface PlainLayer {
  query: PlainLinear;
  key: PlainLinear;
  value: PlainLinear;
  attentionOutput: PlainLinear;
  attentionNorm: PlainNorm;
  intermediate: PlainLinear;
  output: PlainLinear;
  outputNorm: PlainNorm;
}

export interface PlainBert {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  numLabels: number;
  eps: number;
  word: PlainTensor;
  position: PlainTensor;
  tokenType: PlainTensor;
  embNorm: PlainNorm;
  encoder: PlainLayer[];
  pooler: PlainLinear;
  classifier: PlainLinear;
}

/**
 * Reads a BertForSequenceClassification's tensors (with or without the `bert.` prefix, and
 * LayerNorm's old gamma/beta names, as the loader accepts them). Other architectures are
 * refused: the peers implement BERT only.
 */
export async function readPlainBert(config: ModelConfig, source: WeightSource): Promise<PlainBert> {
  if (config.modelType !== 'bert' || config.head !== 'classification') {
    throw new Error(`the peers' Fisher implements BertForSequenceClassification only, not ${config.architecture}`);
  }
  const prefix = source.shapes.has('bert.embeddings.word_embeddings.weight') ? 'bert.' : '';
  const resolve = (name: string) => {
    const bare = prefix ? name : name.replace(/^bert\./, '');
    for (const n of [bare, bare.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta')]) {
      if (source.shapes.has(n)) return n;
    }
    throw new Error(`${source.name}: no tensor "${bare}"`);
  };
  const tensor = async (name: string): Promise<PlainTensor> => {
    const real = resolve(name);
    return { data: await source.read(real), shape: [...source.shapes.get(real)!] };
  };
  const linear = async (n: { weight: string; bias: string }) => ({ weight: await tensor(n.weight), bias: await tensor(n.bias) });
  const norm = async (n: { gamma: string; beta: string }) => ({ gamma: await tensor(n.gamma), beta: await tensor(n.beta) });
  const names = parameterNames(config);
  if (!names.tokenType || names.head.kind !== 'bert') throw new Error('unreachable: a BERT classifier has token types and a pooler');
  const encoder: PlainLayer[] = [];
  for (let l = 0; l < config.layers; l++) {
    const n = names.layer(l);
    encoder.push({
      query: await linear(n.query), key: await linear(n.key), value: await linear(n.value), attentionOutput: await linear(n.attentionOutput),
      attentionNorm: await norm(n.attentionNorm), intermediate: await linear(n.intermediate), output: await linear(n.output), outputNorm: await norm(n.outputNorm),
    });
  }
  return {
    layers: config.layers, hidden: config.hidden, heads: config.heads, intermediate: config.intermediate, numLabels: config.numLabels, eps: config.layerNormEps,
    word: await tensor(names.word), position: await tensor(names.position), tokenType: await tensor(names.tokenType), embNorm: await norm(names.embNorm),
    encoder, pooler: await linear(names.head.pooler), classifier: await linear(names.head.classifier),
  };
}

/** Every tensor of `m` under a flat name (`layers.3.query.weight`), for files other processes read. */
export function plainTensors(m: PlainBert): Map<string, PlainTensor> {
  const out = new Map<string, PlainTensor>();
  const put = (prefix: string, group: object) => {
    for (const [key, value] of Object.entries(group)) {
      if ('data' in value) out.set(`${prefix}${key}`, value as PlainTensor);
      else put(`${prefix}${key}.`, value as object);
    }
  };
  put('', { word: m.word, position: m.position, tokenType: m.tokenType, embNorm: m.embNorm, pooler: m.pooler, classifier: m.classifier });
  m.encoder.forEach((layer, l) => put(`layers.${l}.`, layer));
  return out;
}
