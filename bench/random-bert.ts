// A BERT-base-shaped classifier with random weights (12 layers, hidden 768, 12 heads, FFN
// 3,072): what the benches time where speed, not accuracy, is the question and no trained
// BERT-base is available. Speed does not depend on the weights' values.
import { parseConfig } from '../src/models/config.js';
import type { WeightSource } from '../src/models/weights.js';
import { canonicalTensors } from '../src/models/weights.js';

/** config.json of the random model. */
export const bertBase = {
  architectures: ['BertForSequenceClassification'], model_type: 'bert', hidden_size: 768, num_attention_heads: 12, num_hidden_layers: 12,
  intermediate_size: 3072, vocab_size: 30522, max_position_embeddings: 512, type_vocab_size: 2, num_labels: 2,
};

/**
 * Seeded weights for `json`'s shapes: uniform in ±0.02 (BERT's initializer range), LayerNorm
 * scales 1. The same name gives the same values on every run.
 */
export function randomSource(json: Record<string, unknown>): WeightSource {
  const shapes = canonicalTensors(parseConfig(json));
  return {
    name: 'random BERT-base', shapes,
    read: async (name) => {
      const shape = shapes.get(name)!, n = shape.reduce((a, b) => a * b, 1);
      let s = n ^ name.length;
      const out = new Float32Array(n);
      const scale = /LayerNorm\.weight$/.test(name) ? 0 : 0.04;
      for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = (s / 2 ** 32 - 0.5) * scale + (scale === 0 ? 1 : 0); }
      return out;
    },
  };
}
