// Mutated config.json files beside the real weights (test/fixtures/checkpoints/safetensors-f32)
// must each end in a WgpruneError, or load the original's weights under a config that says
// what the original's does. Only what no weight shape can reveal may differ, and
// the README ("What is checked") lists it: the class names (id2label), layer_norm_eps (any positive
// value), pad_token_id (within the vocabulary), and num_attention_heads of an unpruned model
// (any count that divides the hidden size), and intermediate_size when wgprune_pruned gives
// every layer's width (then the unpruned width it was pruned from).
import { openCheckpoint } from '../../src/io/checkpoint.js';
import { bytesSource } from '../../src/io/source.js';
import { parseConfig, type ModelConfig } from '../../src/models/config.js';
import { weightSource } from '../../src/models/load.js';
import { planWeights } from '../../src/models/weights.js';
import type { Random } from '../helpers/random.js';
import { below, fuzzFile, mutateBytes, oddJsonValue, outcome, pick, record, type FuzzTarget } from './harness.js';

const DIR = 'test/fixtures/checkpoints/safetensors-f32';

/** Fields a config.json may hold, the model's and others', to add or change. */
const FIELDS = [
  'architectures', 'model_type', 'hidden_act', 'id2label', 'label2id', 'vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads',
  'intermediate_size', 'max_position_embeddings', 'type_vocab_size', 'layer_norm_eps', 'pad_token_id', 'num_labels', 'problem_type',
  'position_embedding_type', 'pruned_heads', 'wgprune_pruned', 'n_layers', 'dim', 'n_heads', 'hidden_dim', 'activation', 'torch_dtype',
];

/** Values that may slip past a type check: near the original, or a plausible other. */
function nearValue(rand: Random, field: string, v: unknown): unknown {
  if (typeof v === 'number') return pick(rand, [v + 1, v - 1, v * 2, v / 2, -v, 0, v * 1e6, v + 0.5]);
  if (field === 'architectures') return [pick(rand, ['BertForQuestionAnswering', 'DistilBertForSequenceClassification', 'RobertaForSequenceClassification', 'GPT2LMHeadModel', 'BertForSequenceClassification'])];
  if (field === 'pruned_heads') return pick(rand, [{ 0: [0] }, { 1: [3, 1] }, { 0: [0, 1, 2, 3] }, { 2: [0] }, { 0: [4] }, { 0: [-1] }, { '01': [0] }, { 0: [0, 0] }]);
  if (field === 'wgprune_pruned') {
    return pick(rand, [{ heads_kept: [4, 4], intermediate_sizes: [64, 64] }, { heads_kept: [3, 4] }, { intermediate_sizes: [32, 64] }, { intermediate_sizes: [64] }, { heads_kept: [4, 4, 4] }, { intermediate_sizes: [64, 65] }]);
  }
  if (field === 'id2label') return pick(rand, [{ 0: 'a', 1: 'b' }, { 0: 'x', 1: 'y', 2: 'z' }, { 1: 'a', 2: 'b', 3: 'c' }, { 0: 'a', 1: 'b', 2: 'c', 3: 'd' }, { a: 0 }]);
  return oddJsonValue(rand);
}

function mutateConfig(rand: Random, text: string): { text: string; what: string } {
  if (rand.next() < 0.3) {
    const m = mutateBytes(rand, new TextEncoder().encode(text));
    return { text: new TextDecoder().decode(m.bytes), what: m.what };
  }
  const json = JSON.parse(text) as Record<string, unknown>;
  const edits: string[] = [];
  for (let n = 1 + below(rand, 3); n > 0; n--) {
    const field = rand.next() < 0.6 ? pick(rand, Object.keys(json)) : pick(rand, FIELDS);
    const r = rand.next();
    if (r < 0.15) { delete json[field]; edits.push(`delete ${field}`); continue; }
    const v = r < 0.55 ? nearValue(rand, field, json[field]) : oddJsonValue(rand);
    json[field] = v;
    edits.push(`${field} = ${JSON.stringify(v)}`);
  }
  return { text: JSON.stringify(json, null, 2), what: edits.join('; ') };
}

/** What may differ from the original's config when a mutated one still loads (see the top). */
// intermediate_size is the unpruned width: a config declaring its layers pruned (wgprune_pruned)
// from a larger one computes the same; each layer's width must agree.
const undetectable = (c: ModelConfig) => JSON.stringify({ ...c, labels: undefined, layerNormEps: undefined, padTokenId: undefined, heads: undefined, intermediate: undefined, layerSizes: c.layerSizes?.map((l) => l.neurons) });

const target: FuzzTarget = async () => {
  const fs = await import('node:fs/promises');
  const weights = new Uint8Array(await fs.readFile(`${DIR}/model.safetensors`));
  const originalText = await fs.readFile(`${DIR}/config.json`, 'utf8');
  const load = async (configText: string) => {
    const ckpt = await openCheckpoint(new Map([['config.json', bytesSource('config.json', new TextEncoder().encode(configText))], ['model.safetensors', bytesSource('model.safetensors', weights)]]), 'fuzz');
    try {
      const config = parseConfig(ckpt.config);
      const source = weightSource(ckpt);
      const values = new Map<string, Float32Array>();
      for (const { name } of planWeights(config, source).plan) values.set(name, await source.read(name));
      return { config, values };
    } finally {
      await ckpt.close();
    }
  };
  const original = await load(originalText);
  return (rand) => {
    const m = mutateConfig(rand, originalText);
    return {
      what: m.what,
      async check() {
        let loaded: Awaited<ReturnType<typeof load>> | undefined;
        const end = await outcome(async () => { loaded = await load(m.text); });
        if (end.problem) return end.problem;
        if (end.error) { record(end.error); return undefined; }
        record('loaded');
        const c = loaded!.config;
        if (undetectable(c) !== undetectable(original.config)) return `loaded under a config that describes another model: ${JSON.stringify(c)}`;
        if (!(c.layerNormEps > 0) || c.padTokenId < 0 || c.padTokenId >= c.vocabSize || c.hidden % c.heads) return `loaded with an impossible config: ${JSON.stringify(c)}`;
        if (c.layerSizes?.some((l) => l.heads !== c.heads)) return `loaded as pruned: ${JSON.stringify(c.layerSizes)}`;
        for (const [name, v] of loaded!.values) {
          const o = original.values.get(name);
          if (!o || o.length !== v.length || o.some((x, i) => !Object.is(x, v[i]))) return `tensor "${name}" loaded other values`;
        }
        return undefined;
      },
    };
  };
};

await fuzzFile('fuzz config.json', { 'config.json': target }, 600);
