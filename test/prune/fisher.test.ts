import * as assert from 'uvu/assert';
import { parseConfig } from '../../src/models/config.js';
import { EncoderModel, type TokenBatch } from '../../src/models/model.js';
import { fisherInformation } from '../../src/prune/fisher.js';
import { assertClose, rejected } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { makeCheckpoint } from '../reference/model.js';

const rand = new Random();
const config = parseConfig({
  architectures: ['BertForSequenceClassification'], num_labels: 2, hidden_size: 12, num_attention_heads: 3, num_hidden_layers: 2,
  intermediate_size: 10, vocab_size: 30, max_position_embeddings: 16, type_vocab_size: 2, model_type: 'bert',
});
const seq = 6;
const ids = [2, 11, 12, 3, 0, 0, 2, 14, 15, 16, 17, 3, 2, 19, 3, 0, 0, 0];
const labels = [1, 0, 1];
const rows = (from: number, to: number): TokenBatch => ({
  batch: to - from, seq,
  inputIds: Int32Array.from(ids.slice(from * seq, to * seq)),
  attentionMask: Int32Array.from(ids.slice(from * seq, to * seq), (v, i) => (v !== 0 || i % seq === 0 ? 1 : 0)),
});

const f = gpuSuite('fisherInformation');

f('sums squared per-example gradients, or squared per-batch sums, over the batches', async ({ rt }) => {
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  // Each example's gradient, from one batch of all three (it does not depend on its batch).
  const all = model.maskGradients(rows(0, 3), { labels: Int32Array.from(labels) });
  const hg = await all.head.read(), ng = await all.neuron.read();
  const batches = [{ tokens: rows(0, 2), target: { labels: Int32Array.from(labels.slice(0, 2)) } }, { tokens: rows(2, 3), target: { labels: Int32Array.from(labels.slice(2)) } }];
  const groupsOf = { head: 2 * 3, neuron: 2 * 10 };
  for (const perBatch of [false, true]) {
    const fi = await fisherInformation(model, batches, { perBatch, grams: true });
    assert.is(fi.examples, 3);
    assert.is(fi.perBatch, perBatch);
    for (const kind of ['head', 'neuron'] as const) {
      const n = groupsOf[kind], g = kind === 'head' ? hg : ng;
      const want = new Float64Array(n), scale = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        if (perBatch) {
          const s01 = g[j]! + g[n + j]!, s2 = g[2 * n + j]!;
          want[j] = s01 * s01 + s2 * s2;
          scale[j] = (Math.abs(g[j]!) + Math.abs(g[n + j]!)) ** 2 + s2 * s2;
        } else {
          want[j] = g[j]! ** 2 + g[n + j]! ** 2 + g[2 * n + j]! ** 2;
          scale[j] = want[j]!;
        }
      }
      // The same float32 gradients, squared and summed in float32: 1e-6 of the magnitudes' squares.
      assertClose(fi[kind], want, `${kind} Fisher${perBatch ? ' per batch' : ''}`, { rtol: 1e-6, scales: scale.map((v) => v + 1e-30) });
      // Gram matrices per layer: Σ over samples (examples, or batch sums) of g_i g_j.
      const k = n / 2;
      const samples = perBatch ? [[0, 1], [2]] : [[0], [1], [2]];
      for (let l = 0; l < 2; l++) {
        const G = (kind === 'head' ? fi.headGrams : fi.neuronGrams)![l]!;
        const wantG = new Float64Array(k * k), scaleG = new Float64Array(k * k);
        for (const group of samples) {
          const v = (j: number) => group.reduce((acc, e) => acc + g[e * n + l * k + j]!, 0);
          const a = (j: number) => group.reduce((acc, e) => acc + Math.abs(g[e * n + l * k + j]!), 0);
          for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) { wantG[i * k + j] += v(i) * v(j); scaleG[i * k + j] += a(i) * a(j); }
        }
        assertClose(G, wantG, `${kind} Gram of layer ${l}${perBatch ? ' per batch' : ''}`, { rtol: 1e-6, scales: scaleG.map((x) => x + 1e-30) });
        for (let j = 0; j < k; j++) assert.ok(Math.abs(G[j * k + j]! - fi[kind][l * k + j]!) <= 1e-6 * scaleG[j * k + j]! + 1e-30, 'diagonal = Fisher');
      }
    }
  }
  model.dispose();
});

f('an empty sample set is refused', async ({ rt }) => {
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  assert.match(await rejected(() => fisherInformation(model, [])), 'fisherInformation: the sample set is empty');
  model.dispose();
});

f.run();
