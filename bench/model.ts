// Forward throughput of whole models at seq 128: a BERT-base-shaped classifier with random
// weights (made here; nothing is downloaded) and the bundled sst2-mini.
import { openCheckpointDirectory } from '../src/io/node.js';
import { parseConfig } from '../src/models/config.js';
import { loadModel } from '../src/models/load.js';
import { EncoderModel, type TokenBatch } from '../src/models/model.js';
import { canonicalTensors } from '../src/models/weights.js';
import type { Runtime } from '../src/runtime/runtime.js';
import type { Job } from './measure.js';

/** Multiply-adds x 2 of a BERT encoder forward, per sequence (the FLOPs that matter). */
function encoderGflop(layers: number, hidden: number, inter: number, seq: number): number {
  const perToken = 4 * hidden * hidden + 2 * hidden * inter;
  return (2 * layers * (seq * perToken + 2 * seq * seq * hidden)) / 1e9;
}

function batchOf(batch: number, seq: number, vocab: number): TokenBatch {
  const inputIds = Int32Array.from({ length: batch * seq }, (_, i) => (i % seq === 0 ? 2 : 5 + ((i * 7919) % (vocab - 5))));
  return { batch, seq, inputIds, attentionMask: new Int32Array(batch * seq).fill(1), tokenTypeIds: new Int32Array(batch * seq) };
}

export async function modelJobs(rt: Runtime, adapter: string): Promise<{ jobs: Job[]; models: EncoderModel[] }> {
  const bertBase = parseConfig({
    architectures: ['BertForSequenceClassification'], model_type: 'bert', hidden_size: 768, num_attention_heads: 12, num_hidden_layers: 12,
    intermediate_size: 3072, vocab_size: 30522, max_position_embeddings: 512, type_vocab_size: 2, num_labels: 2,
  });
  const shapes = canonicalTensors(bertBase);
  const base = await EncoderModel.load(rt, bertBase, {
    name: 'random BERT-base', shapes,
    read: async (name) => {
      const n = shapes.get(name)!.reduce((a, b) => a * b, 1);
      return Float32Array.from({ length: n }, () => (Math.random() - 0.5) * 0.04);
    },
  });
  const checkpoint = await openCheckpointDirectory('models/sst2-mini');
  const { model: mini, config: miniConfig } = await loadModel(rt, checkpoint).finally(() => checkpoint.close());
  const seq = 128;
  const job = (name: string, model: EncoderModel, batch: number, layers: number, hidden: number, inter: number, vocab: number): Job => {
    const b = batchOf(batch, seq, vocab);
    return {
      benchmark: `forward ${name}`, shape: `${batch}x${seq}`, implementation: 'wgprune', adapter, host: 'node', unit: 'GFLOP/s',
      work: batch * encoderGflop(layers, hidden, inter, seq),
      note: `${batch} sequences per sample: sequences/s = GFLOP/s / ${encoderGflop(layers, hidden, inter, seq).toFixed(2)}`,
      verify: async () => {},
      run: async () => {
        const out = model.forward(b);
        if (out.kind === 'classification') { await out.logits.read(); out.logits.dispose(); }
      },
    };
  };
  return {
    jobs: [
      job('BERT-base (random)', base, 1, 12, 768, 3072, 30522),
      job('sst2-mini', mini, 8, miniConfig.layers, miniConfig.hidden, miniConfig.intermediate, miniConfig.vocabSize),
    ],
    models: [base, mini],
  };
}
