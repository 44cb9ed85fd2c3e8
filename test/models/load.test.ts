import * as assert from 'uvu/assert';
import { loadModel } from '../../src/models/load.js';
import { assertClose } from '../helpers/compare.js';
import { gpuSuite, skip } from '../helpers/gpu.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
// Test files run from the repository root (scripts/test.mjs).
const root = '';

async function node() {
  const [{ openCheckpointDirectory }, fs] = await Promise.all([import('../../src/io/node.js'), import('node:fs/promises')]);
  return { openCheckpointDirectory, readJson: async (p: string) => JSON.parse(await fs.readFile(p, 'utf8')) as Record<string, unknown> };
}

const t = gpuSuite('load');

// The same tiny random BERT written by PyTorch in every format; each must give PyTorch's
// float32 logits. Weights drawn with std 0.2 make logits O(1): 1e-4 relative to |v| + 0.1
// (the bar), while errors seen are ~1e-6.
for (const format of ['safetensors-f32', 'safetensors-f16', 'safetensors-bf16', 'safetensors-sharded', 'pytorch-zip', 'pytorch-legacy', 'pytorch-shared-storage']) {
  t(`${format} reproduces PyTorch's logits`, async ({ rt }) => {
    if (!isNode) return skip('reads fixture folders from disk');
    const { openCheckpointDirectory, readJson } = await node();
    const dir = `${root}test/fixtures/checkpoints/${format}`;
    const checkpoint = await openCheckpointDirectory(dir);
    const { model, config } = await loadModel(rt, checkpoint);
    await checkpoint.close();
    assert.is(config.architecture, 'BertForSequenceClassification');
    const ref = await readJson(`${dir}/reference.json`) as { input_ids: number[][]; attention_mask: number[][]; token_type_ids: number[][]; logits: number[][] };
    const batch = ref.input_ids.length, seq = ref.input_ids[0]!.length;
    const out = model.forward({ batch, seq, inputIds: Int32Array.from(ref.input_ids.flat()), attentionMask: Int32Array.from(ref.attention_mask.flat()), tokenTypeIds: Int32Array.from(ref.token_type_ids.flat()) });
    assert.is(out.kind, 'classification');
    const want = ref.logits.flat();
    if (out.kind === 'classification') assertClose(await out.logits.read(), want, format, { rtol: 1e-4, scales: want.map((v) => Math.abs(v) + 0.1) });
    model.dispose();
  });
}

t.run();
