import { ModelError } from '../runtime/errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { shapeString, type Tensor } from '../runtime/tensor.js';
import type { ModelConfig } from './config.js';
import type { EncoderLayer, Linear, Norm } from './encoder.js';

/** Tensors by name with their shapes, read one at a time as float32 (a checkpoint). */
export interface WeightSource {
  /** For error messages: the folder or file. */
  name: string;
  shapes: ReadonlyMap<string, readonly number[]>;
  read(name: string): Promise<Float32Array>;
}

export type Head =
  | { kind: 'bert'; pooler: Linear; classifier: Linear }
  | { kind: 'distilbert'; preClassifier: Linear; classifier: Linear }
  | { kind: 'roberta'; dense: Linear; outProj: Linear }
  | { kind: 'qa'; qa: Linear };

export interface LayerWeights extends EncoderLayer {
  /** Kept sizes: fewer than the config's in a physically pruned model (0 removes the block). */
  keptHeads: number;
  keptNeurons: number;
}

export interface ModelWeights {
  embeddings: { word: Tensor; position: Tensor; tokenType?: Tensor; norm: Norm };
  layers: LayerWeights[];
  head: Head;
}

/** Hugging Face's parameter names for one family; `p` is the base model's prefix. */
function names(config: ModelConfig, p: string) {
  const ln = (base: string) => ({ gamma: `${base}.weight`, beta: `${base}.bias` });
  const lin = (base: string) => ({ weight: `${base}.weight`, bias: `${base}.bias` });
  if (config.modelType === 'distilbert') {
    return {
      word: `${p}embeddings.word_embeddings.weight`, position: `${p}embeddings.position_embeddings.weight`, tokenType: undefined,
      embNorm: ln(`${p}embeddings.LayerNorm`),
      layer: (i: number) => {
        const b = `${p}transformer.layer.${i}`;
        return {
          query: lin(`${b}.attention.q_lin`), key: lin(`${b}.attention.k_lin`), value: lin(`${b}.attention.v_lin`),
          attentionOutput: lin(`${b}.attention.out_lin`), attentionNorm: ln(`${b}.sa_layer_norm`),
          intermediate: lin(`${b}.ffn.lin1`), output: lin(`${b}.ffn.lin2`), outputNorm: ln(`${b}.output_layer_norm`),
        };
      },
    };
  }
  return {
    word: `${p}embeddings.word_embeddings.weight`, position: `${p}embeddings.position_embeddings.weight`,
    tokenType: `${p}embeddings.token_type_embeddings.weight`, embNorm: ln(`${p}embeddings.LayerNorm`),
    layer: (i: number) => {
      const b = `${p}encoder.layer.${i}`;
      return {
        query: lin(`${b}.attention.self.query`), key: lin(`${b}.attention.self.key`), value: lin(`${b}.attention.self.value`),
        attentionOutput: lin(`${b}.attention.output.dense`), attentionNorm: ln(`${b}.attention.output.LayerNorm`),
        intermediate: lin(`${b}.intermediate.dense`), output: lin(`${b}.output.dense`), outputNorm: ln(`${b}.output.LayerNorm`),
      };
    },
  };
}

function headNames(config: ModelConfig, p: string) {
  const lin = (base: string) => ({ weight: `${base}.weight`, bias: `${base}.bias` });
  if (config.head === 'question-answering') return { kind: 'qa' as const, qa: lin('qa_outputs') };
  switch (config.modelType) {
    case 'bert': return { kind: 'bert' as const, pooler: lin(`${p}pooler.dense`), classifier: lin('classifier') };
    case 'distilbert': return { kind: 'distilbert' as const, preClassifier: lin('pre_classifier'), classifier: lin('classifier') };
    case 'roberta': return { kind: 'roberta' as const, dense: lin('classifier.dense'), outProj: lin('classifier.out_proj') };
  }
}

/**
 * Hugging Face's names of this config's tensors, under the base model's prefix
 * (`bert.`, `distilbert.`, `roberta.`): what a checkpoint we write uses.
 */
export function parameterNames(config: ModelConfig) {
  const p = `${config.modelType}.`;
  return { ...names(config, p), head: headNames(config, p) };
}

/**
 * Checks every tensor the architecture needs against config.json before anything is read
 * or allocated, and returns the plan: names, shapes, and each layer's kept heads and
 * neurons (a pruned model has fewer rows in its projections). Older BERT checkpoints name
 * LayerNorm parameters gamma/beta; both spellings are accepted.
 */
export function planWeights(config: ModelConfig, source: WeightSource) {
  const base = config.modelType;
  const p = source.shapes.has(`${base}.embeddings.word_embeddings.weight`) ? `${base}.` : '';
  const n = names(config, p);
  const resolve = (name: string): string => {
    if (source.shapes.has(name)) return name;
    const legacy = name.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
    if (source.shapes.has(legacy)) return legacy;
    throw new ModelError(`${source.name}: tensor "${name}" is missing (needed by ${config.architecture}${p ? '' : `; no "${base}." prefix found either`})`);
  };
  const expect = (name: string, shape: number[], what = ''): string => {
    const real = resolve(name);
    const got = source.shapes.get(real)!;
    if (shapeString(got) !== shapeString(shape)) {
      throw new ModelError(`${source.name}: tensor "${real}" has shape ${shapeString(got)}, but config.json implies ${shapeString(shape)}${what}`);
    }
    return real;
  };
  const { hidden, intermediate, heads } = config;
  const headDim = hidden / heads;
  const plan: { name: string; shape: number[] }[] = [];
  const add = (name: string, shape: number[], what = '') => { plan.push({ name: expect(name, shape, what), shape }); return plan[plan.length - 1]!.name; };

  const word = add(n.word, [config.vocabSize, hidden], ' (vocab_size x hidden_size)');
  const position = add(n.position, [config.maxPositions, hidden], ' (max_position_embeddings x hidden_size)');
  const tokenType = n.tokenType ? add(n.tokenType, [config.typeVocabSize, hidden], ' (type_vocab_size x hidden_size)') : undefined;
  const embNorm = { gamma: add(n.embNorm.gamma, [hidden]), beta: add(n.embNorm.beta, [hidden]) };

  const layers = Array.from({ length: config.layers }, (_, i) => {
    const l = n.layer(i);
    // What config.json declares (pruned_heads, wgprune_pruned), which the weights must match:
    // rows alone cannot tell a pruned layer from a config that names the wrong sizes.
    const declared = config.layerSizes?.[i] ?? { heads, neurons: intermediate };
    const qRows = source.shapes.get(resolve(l.query.weight))![0] ?? 0;
    if (qRows !== declared.heads * headDim) {
      const kept = qRows / headDim;
      throw new ModelError(`${source.name}: tensor "${l.query.weight}" has ${qRows} rows (${Number.isInteger(kept) ? `${kept} head${kept === 1 ? '' : 's'}` : 'not a whole number of heads'} of size ${headDim}), ` +
        `but config.json declares ${declared.heads} heads for layer ${i} (num_attention_heads ${heads}${declared.heads !== heads ? ', less its pruned_heads' : ', and no pruned_heads for it'}): config.json and the weights disagree`);
    }
    const neurons = source.shapes.get(resolve(l.intermediate.weight))![0] ?? 0;
    if (neurons !== declared.neurons) {
      throw new ModelError(`${source.name}: tensor "${l.intermediate.weight}" has ${neurons} rows, but config.json declares an FFN of ${declared.neurons} neurons for layer ${i} ` +
        `(${declared.neurons !== intermediate ? 'wgprune_pruned.intermediate_sizes' : `intermediate_size, and no wgprune_pruned.intermediate_sizes`}): config.json and the weights disagree`);
    }
    const kept = declared.heads, keptNeurons = neurons;
    const att = kept * headDim;
    const lin = (names: { weight: string; bias: string }, out: number, inDim: number) => ({ weight: add(names.weight, [out, inDim]), bias: add(names.bias, [out]) });
    return {
      keptHeads: kept, keptNeurons,
      query: lin(l.query, att, hidden), key: lin(l.key, att, hidden), value: lin(l.value, att, hidden),
      attentionOutput: lin(l.attentionOutput, hidden, att),
      attentionNorm: { gamma: add(l.attentionNorm.gamma, [hidden]), beta: add(l.attentionNorm.beta, [hidden]) },
      intermediate: lin(l.intermediate, keptNeurons, hidden), output: lin(l.output, hidden, keptNeurons),
      outputNorm: { gamma: add(l.outputNorm.gamma, [hidden]), beta: add(l.outputNorm.beta, [hidden]) },
    };
  });

  const hn = headNames(config, p);
  const lin = (names: { weight: string; bias: string }, out: number, inDim: number) => ({ weight: add(names.weight, [out, inDim]), bias: add(names.bias, [out]) });
  const head = hn.kind === 'qa' ? { kind: hn.kind, qa: lin(hn.qa, 2, hidden) }
    : hn.kind === 'bert' ? { kind: hn.kind, pooler: lin(hn.pooler, hidden, hidden), classifier: lin(hn.classifier, config.numLabels, hidden) }
    : hn.kind === 'distilbert' ? { kind: hn.kind, preClassifier: lin(hn.preClassifier, hidden, hidden), classifier: lin(hn.classifier, config.numLabels, hidden) }
    : { kind: hn.kind, dense: lin(hn.dense, hidden, hidden), outProj: lin(hn.outProj, config.numLabels, hidden) };
  checkAllUsed(config, source, new Set(plan.map((x) => x.name)));
  return { plan, word, position, tokenType, embNorm, layers, head };
}

/**
 * Tensors a Hugging Face checkpoint may hold that a model we run does not use: buffers of
 * older versions (position_ids), a pooler the task head skips, pre-training heads.
 */
const unusedAllowed = /(^|\.)(position_ids|token_type_ids)$|^(bert\.|roberta\.|distilbert\.)?pooler\.|^cls\.|^lm_head\.|^vocab_(transform|layer_norm|projector)\./;

/**
 * Every other tensor of the checkpoint must be used: one left over means config.json
 * describes another model than the weights (fewer num_hidden_layers than the checkpoint
 * holds, the wrong architecture), which shapes alone would not reveal.
 */
function checkAllUsed(config: ModelConfig, source: WeightSource, used: ReadonlySet<string>): void {
  const unused = [...source.shapes.keys()].filter((k) => !used.has(k) && !unusedAllowed.test(k));
  if (!unused.length) return;
  const layerOf = (k: string) => Number(/(?:^|\.)(?:encoder|transformer)\.layer\.(\d+)\./.exec(k)?.[1] ?? NaN);
  const beyond = unused.map(layerOf).filter((i) => i >= config.layers);
  const names = unused.slice(0, 3).map((k) => `"${k}"`).join(', ') + (unused.length > 3 ? `, and ${unused.length - 3} more` : '');
  if (beyond.length) {
    throw new ModelError(`${source.name}: the checkpoint holds layers up to ${Math.max(...beyond)} but config.json's num_hidden_layers is ${config.layers} ` +
      `(unused: ${names}): config.json and the weights disagree`);
  }
  throw new ModelError(`${source.name}: ${unused.length} tensor${unused.length === 1 ? ' is' : 's are'} not used by ${config.architecture} as config.json describes it (${names}): ` +
    'config.json and the weights disagree, or the checkpoint is of another model');
}

/**
 * The FFN width a layer keeping `neurons` neurons runs at. On software adapters the matmul
 * copies operands whose rows are whole 256-byte lines straight into textures and packs the
 * rest with a kernel on every call: a W2 of 1,234 columns took 22 ms where 1,216 or 1,280
 * took 16-17 (lavapipe, 128 tokens, hidden 768). So a pruned width of 256 or more is padded
 * with zero neurons to a multiple of 64 there (at most 63 more, a few percent); elsewhere,
 * and an unpruned layer (`full`, whose mask gradients and masks have its width), runs as it is.
 */
export function paddedWidth(rt: Runtime, neurons: number, full: number): number {
  return rt.adapter.software && neurons !== full && neurons >= 256 && neurons % 64 !== 0 ? Math.ceil(neurons / 64) * 64 : neurons;
}

/**
 * Uploads the weights one tensor at a time (each read is freed once on the device), so a
 * 440 MB BERT-base never sits in memory twice.
 */
export async function loadWeights(rt: Runtime, config: ModelConfig, source: WeightSource): Promise<ModelWeights> {
  const plan = planWeights(config, source);
  // A pruned FFN's W1 rows, b1 and W2 columns, padded with zero neurons (GELU(0) · 0 adds
  // nothing) to the width that keeps its matmuls on the fast path.
  const pads = new Map<string, { width: number; kind: 'rows' | 'cols' }>();
  for (const l of plan.layers) {
    const width = paddedWidth(rt, l.keptNeurons, config.intermediate);
    if (width === l.keptNeurons) continue;
    pads.set(l.intermediate.weight, { width, kind: 'rows' }).set(l.intermediate.bias, { width, kind: 'rows' }).set(l.output.weight, { width, kind: 'cols' });
  }
  const uploaded = new Map<string, Tensor>();
  try {
    for (const { name, shape } of plan.plan) {
      let data = await source.read(name);
      if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new ModelError(`${source.name}: tensor "${name}" read ${data.length} values for shape ${shapeString(shape)}`);
      let dims = shape;
      const pad = pads.get(name);
      if (pad?.kind === 'rows') {
        const inner = shape.length > 1 ? shape[1]! : 1, out = new Float32Array(pad.width * inner);
        out.set(data);
        [data, dims] = [out, shape.length > 1 ? [pad.width, inner] : [pad.width]];
      } else if (pad?.kind === 'cols') {
        const [rows, cols] = shape as [number, number], out = new Float32Array(rows * pad.width);
        for (let r = 0; r < rows; r++) out.set(data.subarray(r * cols, (r + 1) * cols), r * pad.width);
        [data, dims] = [out, [rows, pad.width]];
      }
      uploaded.set(name, rt.keep(rt.tensor(data, dims)));
    }
  } catch (e) {
    for (const t of uploaded.values()) t.dispose();
    throw e;
  }
  const T = (name: string) => uploaded.get(name)!;
  const L = (l: { weight: string; bias: string }): Linear => ({ weight: T(l.weight), bias: T(l.bias) });
  const N = (l: { gamma: string; beta: string }): Norm => ({ gamma: T(l.gamma), beta: T(l.beta) });
  const h = plan.head;
  return {
    embeddings: { word: T(plan.word), position: T(plan.position), ...(plan.tokenType ? { tokenType: T(plan.tokenType) } : {}), norm: N(plan.embNorm) },
    layers: plan.layers.map((l): LayerWeights => ({
      keptHeads: l.keptHeads, keptNeurons: l.keptNeurons,
      query: L(l.query), key: L(l.key), value: L(l.value), attentionOutput: L(l.attentionOutput), attentionNorm: N(l.attentionNorm),
      intermediate: L(l.intermediate), output: L(l.output), outputNorm: N(l.outputNorm),
    })),
    head: h.kind === 'qa' ? { kind: 'qa', qa: L(h.qa) }
      : h.kind === 'bert' ? { kind: 'bert', pooler: L(h.pooler), classifier: L(h.classifier) }
      : h.kind === 'distilbert' ? { kind: 'distilbert', preClassifier: L(h.preClassifier), classifier: L(h.classifier) }
      : { kind: 'roberta', dense: L(h.dense), outProj: L(h.outProj) },
  };
}

export function disposeWeights(w: ModelWeights): void {
  const all: Tensor[] = [w.embeddings.word, w.embeddings.position, w.embeddings.norm.gamma, w.embeddings.norm.beta];
  if (w.embeddings.tokenType) all.push(w.embeddings.tokenType);
  const lin = (l: Linear) => all.push(l.weight, l.bias);
  for (const l of w.layers) {
    for (const x of [l.query, l.key, l.value, l.attentionOutput, l.intermediate, l.output]) lin(x);
    all.push(l.attentionNorm.gamma, l.attentionNorm.beta, l.outputNorm.gamma, l.outputNorm.beta);
  }
  const h = w.head;
  for (const x of h.kind === 'qa' ? [h.qa] : h.kind === 'bert' ? [h.pooler, h.classifier] : h.kind === 'distilbert' ? [h.preClassifier, h.classifier] : [h.dense, h.outProj]) lin(x);
  for (const t of all) t.dispose();
}

/**
 * Every tensor of an unpruned model of this config, under Hugging Face's names (with the
 * base model's prefix) and the shapes config.json implies: what a checkpoint must hold.
 */
export function canonicalTensors(config: ModelConfig): Map<string, number[]> {
  const p = `${config.modelType}.`;
  const n = names(config, p);
  const { hidden, intermediate, vocabSize, maxPositions, typeVocabSize } = config;
  const out = new Map<string, number[]>();
  const lin = (l: { weight: string; bias: string }, o: number, i: number) => { out.set(l.weight, [o, i]); out.set(l.bias, [o]); };
  const norm = (l: { gamma: string; beta: string }) => { out.set(l.gamma, [hidden]); out.set(l.beta, [hidden]); };
  out.set(n.word, [vocabSize, hidden]);
  out.set(n.position, [maxPositions, hidden]);
  if (n.tokenType) out.set(n.tokenType, [typeVocabSize, hidden]);
  norm(n.embNorm);
  for (let i = 0; i < config.layers; i++) {
    const l = n.layer(i);
    for (const x of [l.query, l.key, l.value, l.attentionOutput]) lin(x, hidden, hidden);
    lin(l.intermediate, intermediate, hidden);
    lin(l.output, hidden, intermediate);
    norm(l.attentionNorm);
    norm(l.outputNorm);
  }
  const h = headNames(config, p);
  if (h.kind === 'qa') lin(h.qa, 2, hidden);
  else if (h.kind === 'bert') { lin(h.pooler, hidden, hidden); lin(h.classifier, config.numLabels, hidden); }
  else if (h.kind === 'distilbert') { lin(h.preClassifier, hidden, hidden); lin(h.classifier, config.numLabels, hidden); }
  else { lin(h.dense, hidden, hidden); lin(h.outProj, config.numLabels, hidden); }
  return out;
}
