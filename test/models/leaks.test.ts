import * as assert from 'uvu/assert';
import { parseConfig } from '../../src/models/config.js';
import { EncoderModel } from '../../src/models/model.js';
import { fisherInformation } from '../../src/prune/fisher.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { thrown } from '../helpers/compare.js';
import { randomSampleBatches } from '../helpers/batches.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { makeCheckpoint } from '../reference/model.js';

// Saved state has one owner (the forward's Tape) and is freed in one place: repeated
// forwards, mask gradients and Fisher passes leave live tensors, buffers and bytes where
// they were, and so does a call that fails halfway.

const rand = new Random();
const config = parseConfig({
  architectures: ['BertForSequenceClassification'], num_labels: 2, hidden_size: 16, num_attention_heads: 4, num_hidden_layers: 2,
  intermediate_size: 24, vocab_size: 40, max_position_embeddings: 16, type_vocab_size: 2, model_type: 'bert',
});
const batches = randomSampleBatches(rand, 3, 4, 8);

const live = (rt: Runtime) => {
  const s = rt.stats();
  return { tensors: s.tensors, liveBuffers: s.liveBuffers, liveBytes: s.liveBytes };
};

/** Runs `step` once to warm caches, then `times` more: live state after equals live state before. */
async function flat(rt: Runtime, what: string, step: () => Promise<void>, times = 4): Promise<void> {
  await step();
  await rt.sync();
  const before = live(rt);
  for (let i = 0; i < times; i++) await step();
  await rt.sync();
  assert.equal(live(rt), before, `${what}: live tensors, buffers and bytes after ${times} more calls`);
}

const s = gpuSuite('no leaks');

s('forward, maskGradients and fisherInformation leave live memory flat', async ({ rt }) => {
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const masks = { head: [[1, 0.5, 0, 1], [0, 1, 1, 1]], neuron: [Array.from({ length: 24 }, (_, i) => i % 3), Array(24).fill(1)] };
  await flat(rt, 'forward', async () => {
    const out = model.forward(batches[0]!.tokens, masks);
    if (out.kind !== 'classification') throw new Error('a classifier');
    await out.logits.read();
    out.logits.dispose();
  });
  await flat(rt, 'maskGradients', async () => {
    const g = model.maskGradients(batches[1]!.tokens, batches[1]!.target);
    await g.head.read();
    for (const t of [g.head, g.neuron, g.losses]) t.dispose();
  });
  await flat(rt, 'fisherInformation', async () => { await fisherInformation(model, batches, { grams: true }); }, 2);
  // A call that fails after its forward (a regression target given to a classifier) frees
  // what it made: the tape and the gradient tensors.
  await flat(rt, 'a failing maskGradients', async () => {
    assert.match(thrown(() => model.maskGradients(batches[2]!.tokens, { targets: new Float32Array(4) })), 'targets given to a classifier');
  });
  model.dispose();
});

s.run();
