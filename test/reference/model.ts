import { parseConfig, type ModelConfig } from '../../src/models/config.js';
import type { WeightSource } from '../../src/models/weights.js';
import { encoderLayerRef, linearRef, randomLayer, type LayerRef } from './encoder.js';
import { layernormRef } from './layernorm.js';
import { maskBias } from './softmax.js';

interface Rand { uniform(n: number, lo?: number, hi?: number): Float64Array }

/**
 * A 2-layer config of each family (hidden 12, 3 heads, 10 neurons, 30 tokens), as Hugging
 * Face writes it; `extra` overrides config.json's fields (num_labels, ...).
 */
export function smallConfig(architecture: string, extra: Record<string, unknown> = {}): ModelConfig {
  return parseConfig(smallConfigJson(architecture, extra));
}

/** config.json's object of `smallConfig`. */
export function smallConfigJson(architecture: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const distil = architecture.startsWith('Distil');
  const roberta = architecture.startsWith('Roberta');
  const base = distil
    ? { dim: 12, n_heads: 3, n_layers: 2, hidden_dim: 10, vocab_size: 30, max_position_embeddings: 16, model_type: 'distilbert' }
    : { hidden_size: 12, num_attention_heads: 3, num_hidden_layers: 2, intermediate_size: 10, vocab_size: 30, max_position_embeddings: 16,
      type_vocab_size: roberta ? 1 : 2, layer_norm_eps: roberta ? 1e-5 : 1e-12, model_type: roberta ? 'roberta' : 'bert', pad_token_id: roberta ? 1 : 0 };
  return { architectures: [architecture], ...base, ...extra };
}

/**
 * config.json's fields that declare a physically pruned model, as src/prune/export.ts writes
 * them: Hugging Face's `pruned_heads` (the last heads of each layer, as makeCheckpoint keeps
 * the first) and `wgprune_pruned`. Without them the loader refuses weights smaller than
 * the config.
 */
export function prunedFields(heads: number, keep: { heads: number; neurons: number }[]): Record<string, unknown> {
  const pruned = Object.fromEntries(keep.filter((k) => k.heads < heads).map((k) => [String(keep.indexOf(k)), Array.from({ length: heads - k.heads }, (_, j) => k.heads + j)]));
  return { pruned_heads: pruned, wgprune_pruned: { heads_kept: keep.map((k) => k.heads), intermediate_sizes: keep.map((k) => k.neurons) } };
}

/**
 * A small random checkpoint for one family, under Hugging Face's parameter names, with a
 * float64 forward to check our model against. `keep` prunes layers physically: the first
 * `heads` heads and `neurons` neurons of each layer survive.
 */
export function makeCheckpoint(rand: Rand, config: ModelConfig, keep?: { heads: number; neurons: number }[]) {
  const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
  const { hidden, intermediate, layers, vocabSize, maxPositions, typeVocabSize, numLabels, modelType } = config;
  const headDim = hidden / config.heads;
  const tensors = new Map<string, { shape: number[]; data: Float64Array }>();
  const put = (name: string, shape: number[], data: Float64Array) => tensors.set(name, { shape, data });
  const p = `${modelType}.`;
  const word = f32(rand.uniform(vocabSize * hidden)), position = f32(rand.uniform(maxPositions * hidden));
  const tokenType = typeVocabSize ? f32(rand.uniform(typeVocabSize * hidden)) : undefined;
  const eg = f32(rand.uniform(hidden, 0.8, 1.2)), eb = f32(rand.uniform(hidden, -0.1, 0.1));
  put(`${p}embeddings.word_embeddings.weight`, [vocabSize, hidden], word);
  put(`${p}embeddings.position_embeddings.weight`, [maxPositions, hidden], position);
  if (tokenType) put(`${p}embeddings.token_type_embeddings.weight`, [typeVocabSize, hidden], tokenType);
  put(`${p}embeddings.LayerNorm.weight`, [hidden], eg);
  put(`${p}embeddings.LayerNorm.bias`, [hidden], eb);
  const refs: LayerRef[] = [];
  for (let i = 0; i < layers; i++) {
    const full = randomLayer(rand, hidden, intermediate);
    const kh = keep?.[i]?.heads ?? config.heads, kn = keep?.[i]?.neurons ?? intermediate;
    const att = kh * headDim;
    // Keep the first rows (outputs) of q, k, v and W1, the first columns (inputs) of Wo and W2.
    const rowsOf = (w: Float64Array, rows: number, cols: number) => w.slice(0, rows * cols);
    const colsOf = (w: Float64Array, rows: number, cols: number, kept: number) => Float64Array.from({ length: rows * kept }, (_, j) => w[Math.floor(j / kept) * cols + (j % kept)]!);
    const l: LayerRef = {
      ...full,
      wq: rowsOf(full.wq, att, hidden), bq: full.bq.slice(0, att), wk: rowsOf(full.wk, att, hidden), bk: full.bk.slice(0, att),
      wv: rowsOf(full.wv, att, hidden), bv: full.bv.slice(0, att), wo: colsOf(full.wo, hidden, hidden, att),
      w1: rowsOf(full.w1, kn, hidden), b1: full.b1.slice(0, kn), w2: colsOf(full.w2, hidden, intermediate, kn),
    };
    refs.push(l);
    const names = modelType === 'distilbert'
      ? { q: 'attention.q_lin', k: 'attention.k_lin', v: 'attention.v_lin', o: 'attention.out_lin', n1: 'sa_layer_norm', i: 'ffn.lin1', out: 'ffn.lin2', n2: 'output_layer_norm', base: `${p}transformer.layer.${i}` }
      : { q: 'attention.self.query', k: 'attention.self.key', v: 'attention.self.value', o: 'attention.output.dense', n1: 'attention.output.LayerNorm', i: 'intermediate.dense', out: 'output.dense', n2: 'output.LayerNorm', base: `${p}encoder.layer.${i}` };
    const b = names.base;
    put(`${b}.${names.q}.weight`, [att, hidden], l.wq); put(`${b}.${names.q}.bias`, [att], l.bq);
    put(`${b}.${names.k}.weight`, [att, hidden], l.wk); put(`${b}.${names.k}.bias`, [att], l.bk);
    put(`${b}.${names.v}.weight`, [att, hidden], l.wv); put(`${b}.${names.v}.bias`, [att], l.bv);
    put(`${b}.${names.o}.weight`, [hidden, att], l.wo); put(`${b}.${names.o}.bias`, [hidden], l.bo);
    put(`${b}.${names.n1}.weight`, [hidden], l.g1); put(`${b}.${names.n1}.bias`, [hidden], l.b1n);
    put(`${b}.${names.i}.weight`, [kn, hidden], l.w1); put(`${b}.${names.i}.bias`, [kn], l.b1);
    put(`${b}.${names.out}.weight`, [hidden, kn], l.w2); put(`${b}.${names.out}.bias`, [hidden], l.b2);
    put(`${b}.${names.n2}.weight`, [hidden], l.g2); put(`${b}.${names.n2}.bias`, [hidden], l.b2n);
  }
  const lin = (name: string, out: number, inDim: number) => {
    const w = f32(rand.uniform(out * inDim, -0.5, 0.5)), b = f32(rand.uniform(out, -0.1, 0.1));
    put(`${name}.weight`, [out, inDim], w); put(`${name}.bias`, [out], b);
    return { w, b };
  };
  const qa = config.head === 'question-answering';
  const head = qa ? { qa: lin('qa_outputs', 2, hidden) }
    : modelType === 'bert' ? { a: lin(`${p}pooler.dense`, hidden, hidden), b: lin('classifier', numLabels, hidden) }
    : modelType === 'distilbert' ? { a: lin('pre_classifier', hidden, hidden), b: lin('classifier', numLabels, hidden) }
    : { a: lin('classifier.dense', hidden, hidden), b: lin('classifier.out_proj', numLabels, hidden) };

  const source: WeightSource = {
    name: `test ${modelType} checkpoint`,
    shapes: new Map([...tensors].map(([k, v]) => [k, v.shape])),
    read: async (name) => Float32Array.from(tensors.get(name)!.data),
  };

  /** Float64 outputs for a padded batch: logits [batch, labels], or start/end [batch, seq]. */
  const forward = (ids: number[], mask: number[], types: number[] | undefined, batch: number, seq: number, headMask?: number[][], neuronMask?: number[][]) => {
    const x = new Float64Array(batch * seq * hidden);
    for (let r = 0; r < batch; r++) {
      let count = 0;
      for (let s = 0; s < seq; s++) {
        const i = r * seq + s;
        const pos = modelType === 'roberta' ? (ids[i] !== config.padTokenId ? ++count + config.padTokenId : config.padTokenId) : s;
        for (let d = 0; d < hidden; d++) {
          x[i * hidden + d] = word[ids[i]! * hidden + d]! + position[pos * hidden + d]! + (tokenType ? tokenType[(types?.[i] ?? 0) * hidden + d]! : 0);
        }
      }
    }
    let h: Float64Array = layernormRef(x, eg, eb, hidden, config.layerNormEps).y;
    const bias = maskBias(mask);
    refs.forEach((l, i) => {
      const kh = l.bq.length / headDim, kn = l.b1.length;
      h = encoderLayerRef(h, l, batch, seq, kh, config.layerNormEps, bias, headMask?.[i] ?? new Array(kh).fill(1), neuronMask?.[i] ?? new Array(kn).fill(1));
    });
    if (qa) {
      const logits = linearRef(h, head.qa!.w, head.qa!.b, hidden);
      return { start: Float64Array.from({ length: batch * seq }, (_, i) => logits[i * 2]!), end: Float64Array.from({ length: batch * seq }, (_, i) => logits[i * 2 + 1]!) };
    }
    const first = Float64Array.from({ length: batch * hidden }, (_, j) => h[(Math.floor(j / hidden) * seq) * hidden + (j % hidden)]!);
    const inner = linearRef(first, head.a!.w, head.a!.b, hidden).map((v) => (modelType === 'distilbert' ? Math.max(v, 0) : Math.tanh(v)));
    return { logits: linearRef(inner, head.b!.w, head.b!.b, hidden) };
  };
  return { source, forward, layers: refs };
}

