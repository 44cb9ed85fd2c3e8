import * as assert from 'uvu/assert';
import { parseConfig } from '../../src/models/config.js';
import { EncoderModel } from '../../src/models/model.js';
import { encoderMacs } from '../../src/prune/flops.js';
import { fisherInformation } from '../../src/prune/fisher.js';
import { findMasks } from '../../src/prune/masks.js';
import { rearrangeByGram } from '../../src/prune/rearrange.js';
import { searchByFlops } from '../../src/prune/search.js';
import { randomSampleBatches } from '../helpers/batches.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { makeCheckpoint } from '../reference/model.js';

const rand = new Random();
const config = parseConfig({
  architectures: ['BertForSequenceClassification'], num_labels: 2, hidden_size: 16, num_attention_heads: 4, num_hidden_layers: 3,
  intermediate_size: 24, vocab_size: 40, max_position_embeddings: 16, type_vocab_size: 2, model_type: 'bert',
});
const seq = 8, perBatch = 4;

const randomBatches = (count: number) => randomSampleBatches(rand, count, perBatch, seq);

const m = gpuSuite('findMasks');

m('masks within the constraint, the searched counts per layer, a Fisher-block loss no higher after rearranging', async ({ rt }) => {
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const shape = { layers: 3, heads: 4, hidden: 16, intermediate: 24, seqLen: 6.5 };
  for (const constraint of [0.3, 0.6]) {
    const found = await findMasks(model, randomBatches(3), { constraint, seqLen: shape.seqLen });
    const heads = found.head.map((l) => l.reduce((a, v) => a + v, 0)), neurons = found.neuron.map((l) => l.reduce((a, v) => a + v, 0));
    assert.equal(heads, found.search.headMask.map((l) => l.reduce((a, v) => a + v, 0)), 'heads kept per layer as searched');
    assert.equal(neurons, found.search.neuronMask.map((l) => l.reduce((a, v) => a + v, 0)), 'neurons kept per layer as searched');
    const macs = encoderMacs(shape, heads.reduce((a, b) => a + b), neurons.reduce((a, b) => a + b));
    assert.ok(macs <= constraint * encoderMacs(shape), `${macs} MACs within ${constraint}`);
    assert.ok(found.loss.after <= found.loss.before * (1 + 1e-9), `loss ${found.loss.before} → ${found.loss.after}`);
    assert.is(found.fisher.examples, 3 * perBatch);
    // The masks drive the model as they are.
    const out = model.forward(randomBatches(1)[0]!.tokens, { head: found.head, neuron: found.neuron });
    if (out.kind === 'classification') assert.ok((await out.logits.read()).every(Number.isFinite));
  }
  model.dispose();
});

m('which units each layer keeps: the search, then each layer rearranged with its own Gram matrix and importances', async ({ rt }) => {
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const shape = { layers: 3, heads: 4, hidden: 16, intermediate: 24, seqLen: 6.5 };
  const data = randomBatches(3);
  for (const perBatch of [false, true]) {
    const found = await findMasks(model, data, { constraint: 0.4, seqLen: shape.seqLen, perBatch });
    const fisher = await fisherInformation(model, data, { perBatch, grams: true });
    assert.equal(Array.from(found.fisher.neuron), Array.from(fisher.neuron));
    const search = searchByFlops(fisher.head, fisher.neuron, shape, 0.4);
    assert.equal(found.search.neuronMask.map((l) => Array.from(l)), search.neuronMask.map((l) => Array.from(l)));
    for (let l = 0; l < 3; l++) {
      for (const [kind, k, grams, imp, mask] of [['head', 4, fisher.headGrams!, fisher.head, search.headMask], ['neuron', 24, fisher.neuronGrams!, fisher.neuron, search.neuronMask]] as const) {
        const pruned = k - mask[l]!.reduce((a, v) => a + v, 0);
        const r = rearrangeByGram(grams[l]!, k, imp.subarray(l * k, (l + 1) * k), pruned);
        assert.equal(found[kind][l], Array.from(r.mask), `${kind}s of layer ${l} (perBatch ${perBatch})`);
      }
    }
  }
  model.dispose();
});

m.run();
