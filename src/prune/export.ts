import { encodeSafetensors, type Float32Tensor } from '../io/safetensors-write.js';
import type { Folder } from '../io/source.js';
import { parseConfig, type ModelConfig } from '../models/config.js';
import type { EncoderModel } from '../models/model.js';
import { parameterNames, type WeightSource } from '../models/weights.js';
import { WgpruneError } from '../runtime/errors.js';
import type { Tensor } from '../runtime/tensor.js';
import { keptIndices, pruneLayer, readLayer, type LinearArrays, type NormArrays } from './fold.js';
import type { Masks } from './tune.js';

/**
 * The field of config.json where a model we write records what was kept:
 * `{ "intermediate_sizes": [FFN width of each layer], "heads_kept": [heads of each layer] }`.
 * Heads are also in Hugging Face's own `pruned_heads` ({ "layer": [pruned head indices] }),
 * so that a heads-only pruned BERT loads in transformers.
 */
export const prunedField = 'wgprune_pruned';

/** A physically pruned checkpoint in memory: config.json's object and the float32 tensors under Hugging Face's names. */
export interface PrunedCheckpoint {
  config: Record<string, unknown>;
  tensors: Map<string, Float32Tensor>;
}

/**
 * Step 5 of docs/method.md: the model with the pruned heads and neurons removed and the mask
 * values folded into the remaining output-projection and W2 columns (src/prune/fold.ts), as
 * Hugging Face names and shapes the tensors, with `configJson` (the input's config.json)
 * extended by `pruned_heads` and our `wgprune_pruned` field. The model must be unpruned.
 */
export async function prunedCheckpoint(model: EncoderModel, configJson: Record<string, unknown>, masks: Masks): Promise<PrunedCheckpoint> {
  const c = model.config, w = model.weights, L = w.layers.length;
  if (w.layers.some((l) => l.keptHeads !== c.heads || l.keptNeurons !== c.intermediate)) {
    throw new WgpruneError('prunedCheckpoint: the model is already physically pruned; prune the unpruned model');
  }
  if (masks.head.length !== L || masks.neuron.length !== L) throw new WgpruneError(`prunedCheckpoint: masks for ${masks.head.length} layers, the model has ${L}`);
  const n = parameterNames(c);
  const tensors = new Map<string, Float32Tensor>();
  const put = async (name: string, t: Tensor) => { tensors.set(name, { shape: [...t.shape], data: (await t.read()) as Float32Array }); };
  const putLinear = (names: { weight: string; bias: string }, l: LinearArrays) => {
    tensors.set(names.weight, { shape: [l.out, l.in], data: l.weight });
    tensors.set(names.bias, { shape: [l.out], data: l.bias });
  };
  const putNorm = (names: { gamma: string; beta: string }, l: NormArrays) => {
    tensors.set(names.gamma, { shape: [l.gamma.length], data: l.gamma });
    tensors.set(names.beta, { shape: [l.beta.length], data: l.beta });
  };
  await put(n.word, w.embeddings.word);
  await put(n.position, w.embeddings.position);
  if (n.tokenType && w.embeddings.tokenType) await put(n.tokenType, w.embeddings.tokenType);
  await put(n.embNorm.gamma, w.embeddings.norm.gamma);
  await put(n.embNorm.beta, w.embeddings.norm.beta);
  const prunedHeads: Record<string, number[]> = {}, headsKept: number[] = [], widths: number[] = [];
  for (let i = 0; i < L; i++) {
    const layer = pruneLayer(await readLayer(w.layers[i]!), masks.head[i]!, masks.neuron[i]!);
    const ln = n.layer(i);
    putLinear(ln.query, layer.query); putLinear(ln.key, layer.key); putLinear(ln.value, layer.value);
    putLinear(ln.attentionOutput, layer.attentionOutput); putNorm(ln.attentionNorm, layer.attentionNorm);
    putLinear(ln.intermediate, layer.intermediate); putLinear(ln.output, layer.output); putNorm(ln.outputNorm, layer.outputNorm);
    const kept = new Set(keptIndices(masks.head[i]!));
    const pruned = Array.from({ length: c.heads }, (_, h) => h).filter((h) => !kept.has(h));
    if (pruned.length) prunedHeads[String(i)] = pruned;
    headsKept.push(layer.heads);
    widths.push(layer.neurons);
  }
  const h = w.head, hn = n.head;
  const linear = async (names: { weight: string; bias: string }, l: { weight: Tensor; bias: Tensor }) => { await put(names.weight, l.weight); await put(names.bias, l.bias); };
  if (h.kind === 'qa' && hn.kind === 'qa') await linear(hn.qa, h.qa);
  else if (h.kind === 'bert' && hn.kind === 'bert') { await linear(hn.pooler, h.pooler); await linear(hn.classifier, h.classifier); }
  else if (h.kind === 'distilbert' && hn.kind === 'distilbert') { await linear(hn.preClassifier, h.preClassifier); await linear(hn.classifier, h.classifier); }
  else if (h.kind === 'roberta' && hn.kind === 'roberta') { await linear(hn.dense, h.dense); await linear(hn.outProj, h.outProj); }
  else throw new WgpruneError(`prunedCheckpoint: head ${h.kind} does not match the config's ${hn.kind}`);
  const config = { ...configJson, pruned_heads: prunedHeads, [prunedField]: { heads_kept: headsKept, intermediate_sizes: widths } };
  return { config, tensors };
}

/** A pruned checkpoint as the model loader's weight source (to score it without writing it). */
export function checkpointSource(name: string, p: PrunedCheckpoint): { config: ModelConfig; source: WeightSource } {
  return {
    config: parseConfig(p.config, `${name}/config.json`),
    source: {
      name,
      shapes: new Map([...p.tensors].map(([k, t]) => [k, t.shape])),
      read: async (k) => p.tensors.get(k)!.data,
    },
  };
}

/** Tokenizer files a model folder may hold: copied as they are. */
export const tokenizerFiles = ['vocab.txt', 'vocab.json', 'merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json'];

/**
 * The files of the pruned model folder, name → byte chunks: `model.safetensors`,
 * `config.json`, the tokenizer files found in `input`, and any `extra` JSON files
 * (masks.json, report.json). JSON keeps its keys' insertion order and ends with a
 * newline; nothing depends on the time, so the same inputs give the same bytes.
 */
export async function prunedModelFiles(p: PrunedCheckpoint, input: Folder, extra: Record<string, unknown> = {}): Promise<Map<string, Uint8Array[]>> {
  const enc = new TextEncoder(), json = (v: unknown) => [enc.encode(JSON.stringify(v, null, 2) + '\n')];
  const files = new Map<string, Uint8Array[]>();
  files.set('config.json', json(p.config));
  files.set('model.safetensors', encodeSafetensors(p.tensors, { format: 'pt' }));
  for (const name of tokenizerFiles) {
    if (!input.files.includes(name)) continue;
    const src = await input.open(name);
    try {
      files.set(name, [await src.read(0, src.size)]);
    } finally {
      await src.close?.();
    }
  }
  for (const [name, value] of Object.entries(extra)) files.set(name, json(value));
  return files;
}
