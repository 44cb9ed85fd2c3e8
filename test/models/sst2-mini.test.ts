import * as assert from 'uvu/assert';
import { loadModel } from '../../src/models/load.js';
import type { EncoderModel } from '../../src/models/model.js';
import { gpuSuite, skip } from '../helpers/gpu.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const dir = 'models/sst2-mini';

interface Input { input_ids: number[]; attention_mask: number[]; token_type_ids: number[] }
interface Logits { logits: number[]; logits_masked: number[] }

async function fixtures() {
  const fs = await import('node:fs/promises');
  const lines = async (f: string) => (await fs.readFile(`${dir}/reference/${f}`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as unknown);
  return {
    inputs: (await lines('inputs.jsonl')) as Input[],
    logits: (await lines('logits.jsonl')) as Logits[],
    masks: JSON.parse(await fs.readFile(`${dir}/reference/masks.json`, 'utf8')) as { head_mask: number[][]; neuron_mask: number[][] },
  };
}

/** All 64 reference sentences as one padded batch. */
function batchOf(inputs: Input[]) {
  const seq = Math.max(...inputs.map((i) => i.input_ids.length)), batch = inputs.length;
  const pad = (rows: number[][]) => Int32Array.from(rows.flatMap((r) => [...r, ...new Array(seq - r.length).fill(0)]));
  return { batch, seq, inputIds: pad(inputs.map((i) => i.input_ids)), attentionMask: pad(inputs.map((i) => i.attention_mask)), tokenTypeIds: pad(inputs.map((i) => i.token_type_ids)) };
}

const t = gpuSuite('sst2-mini');

// The outside oracle: PyTorch float32 logits of the bundled model for 64 SST-2 dev
// sentences, without and with fixed masks. The bar is 1e-4 relative (to |logit| + 0.1);
// the worst error is printed so the note can quote it.
t('logits match PyTorch\'s, without and with masks, padded into one batch', async ({ rt }) => {
  if (!isNode) return skip('reads the bundled model from disk');
  const { openCheckpointDirectory } = await import('../../src/io/node.js');
  const checkpoint = await openCheckpointDirectory(dir);
  const { model } = await loadModel(rt, checkpoint);
  await checkpoint.close();
  const { inputs, logits, masks } = await fixtures();
  const b = batchOf(inputs);
  const run = async (m?: { head: number[][]; neuron: number[][] }) => {
    const out = (model as EncoderModel).forward(b, m);
    if (out.kind !== 'classification') throw new Error('expected a classifier');
    return out.logits.read();
  };
  for (const [name, got, want] of [
    ['plain', await run(), logits.flatMap((l) => l.logits)],
    ['masked', await run({ head: masks.head_mask, neuron: masks.neuron_mask }), logits.flatMap((l) => l.logits_masked)],
  ] as const) {
    let worst = 0, worstAbs = 0;
    for (let i = 0; i < want.length; i++) {
      const err = Math.abs(got[i]! - want[i]!);
      worst = Math.max(worst, err / (Math.abs(want[i]!) + 0.1));
      worstAbs = Math.max(worstAbs, err);
    }
    console.log(`sst2-mini ${name}: worst logit error ${worstAbs.toExponential(2)} absolute, ${worst.toExponential(2)} relative to |logit| + 0.1`);
    assert.ok(worst < 1e-4, `${name}: worst relative error ${worst}`);
  }
  model.dispose();
});

t.run();
