import * as assert from 'uvu/assert';
import { openCheckpoint } from '../../src/io/checkpoint.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { blobSource, bytesSource, mapFolder, type ByteSource } from '../../src/io/source.js';
import { loadModel } from '../../src/models/load.js';
import { EncoderModel, type ModelOutput, type TokenBatch } from '../../src/models/model.js';
import { checkpointSource, prunedCheckpoint, prunedField, prunedModelFiles } from '../../src/prune/export.js';
import type { Masks } from '../../src/prune/tune.js';
import { gpuSuite, skip } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { makeCheckpoint, smallConfig, smallConfigJson } from '../reference/model.js';

const rand = new Random();
const isNode = typeof process !== 'undefined' && !!process.versions?.node;

// smallConfig: 2 layers, hidden 12, 3 heads, 10 neurons.
const batch: TokenBatch = {
  batch: 2, seq: 6,
  inputIds: Int32Array.from([2, 11, 12, 13, 3, 0, 2, 14, 15, 16, 17, 3]),
  attentionMask: Int32Array.from([1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]),
};
const roberta = (b: TokenBatch): TokenBatch => ({ ...b, inputIds: b.inputIds.map((v) => (v === 0 ? 1 : v === 2 ? 0 : v)) });

/** Real-valued masks with zeros: layer 0 loses every head, layer 1 every neuron. */
const masks: Masks = {
  head: [[0, 0, 0], [1.3, 0, -0.4]],
  neuron: [[0.7, 0, 1.2, 0, 0, 2.5, 1, 0, 0.1, 0.9], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
};

async function outputs(o: ModelOutput): Promise<Float32Array> {
  if (o.kind === 'classification') return (await o.logits.read()) as Float32Array;
  const [s, e] = await Promise.all([o.start.read(), o.end.read()]);
  return Float32Array.from([...s, ...e]);
}

const t = gpuSuite('export');

for (const arch of ['BertForSequenceClassification', 'DistilBertForSequenceClassification', 'RobertaForSequenceClassification', 'BertForQuestionAnswering']) {
  t(`${arch}: the folded, physically pruned model computes what the masked model computes (layers pruned to nothing included)`, async ({ rt }) => {
    const config = smallConfig(arch, { num_labels: 3 });
    const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
    const b = config.modelType === 'roberta' ? roberta(batch) : batch;
    const p = await prunedCheckpoint(model, smallConfigJson(arch, { num_labels: 3 }), masks);
    const { config: prunedConfig, source } = checkpointSource('pruned', p);
    const pruned = await EncoderModel.load(rt, prunedConfig, source);
    assert.equal(pruned.layerSizes, [{ heads: 0, neurons: 6 }, { heads: 2, neurons: 0 }]);
    const [masked, folded] = [await outputs(model.forward(b, masks)), await outputs(pruned.forward(b))];
    // The same float32 products in another order (a mask value times a context, or times a
    // weight): relative differences of a few ulps, carried through two LayerNorms.
    const scale = Math.max(...masked.map(Math.abs));
    masked.forEach((v, i) => assert.ok(Math.abs(v - folded[i]!) <= 1e-5 * scale, `output ${i}: masked ${v}, folded ${folded[i]}`));
    // Hugging Face's pruned_heads (the pruned indices per layer) and our FFN widths.
    assert.equal(p.config.pruned_heads, { 0: [0, 1, 2], 1: [1] });
    assert.equal(p.config[prunedField], { heads_kept: [0, 2], intermediate_sizes: [6, 0] });
    const n = config.modelType === 'distilbert' ? 'distilbert.transformer.layer.1.attention.out_lin.weight'
      : `${config.modelType}.encoder.layer.1.attention.output.dense.weight`;
    assert.equal(p.tensors.get(n)!.shape, [12, 8]);
    model.dispose();
    pruned.dispose();
  });
}

t('a pruned FFN of a ragged width runs padded with zero neurons on software adapters, computing the same', async ({ rt }) => {
  const config = smallConfig('BertForSequenceClassification', { num_labels: 2, intermediate_size: 300 });
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const m: Masks = { head: [[1, 1, 1], [1, 0.5, 1]], neuron: [Array.from({ length: 300 }, (_, i) => (i % 10 === 3 ? 0 : 1 + (i % 7) / 10)), Array(300).fill(1)] };
  const { config: prunedConfig, source } = checkpointSource('pruned', await prunedCheckpoint(model, smallConfigJson('BertForSequenceClassification', { num_labels: 2, intermediate_size: 300 }), m));
  const pruned = await EncoderModel.load(rt, prunedConfig, source);
  assert.equal(pruned.layerSizes.map((l) => l.neurons), [270, 300]);
  assert.is(pruned.weights.layers[0]!.intermediate.weight.shape[0], rt.adapter.software ? 320 : 270);
  assert.is(pruned.weights.layers[1]!.intermediate.weight.shape[0], 300, 'a width of the unpruned model is never padded');
  const [masked, folded] = [await outputs(model.forward(batch, m)), await outputs(pruned.forward(batch))];
  const scale = Math.max(...masked.map(Math.abs));
  masked.forEach((v, i) => assert.ok(Math.abs(v - folded[i]!) <= 1e-5 * scale, `output ${i}: masked ${v}, folded ${folded[i]}`));
  // Masks on the pruned model keep their unpadded length.
  const half = await outputs(pruned.forward(batch, { neuron: [Array(270).fill(0.5), Array(300).fill(1)] }));
  assert.ok(half.every(Number.isFinite));
  model.dispose();
  pruned.dispose();
});

t('the folder round trip: written files load back (as a browser would, from bytes) with the same outputs, byte for byte the same for the same inputs', async ({ rt }) => {
  const config = smallConfig('BertForSequenceClassification', { num_labels: 2 });
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const vocab = new TextEncoder().encode(Array.from({ length: 30 }, (_, i) => `tok${i}`).join('\n'));
  const input = mapFolder('input', new Map<string, ByteSource>([['vocab.txt', bytesSource('vocab.txt', vocab)], ['notes.md', bytesSource('notes.md', vocab)]]));
  const configJson = { architectures: ['BertForSequenceClassification'], model_type: 'bert', hidden_size: 12, num_attention_heads: 3, num_hidden_layers: 2,
    intermediate_size: 10, vocab_size: 30, max_position_embeddings: 16, type_vocab_size: 2, num_labels: 2 };
  const files = await prunedModelFiles(await prunedCheckpoint(model, configJson, masks), input, { 'masks.json': masks });
  assert.equal([...files.keys()].sort(), ['config.json', 'masks.json', 'model.safetensors', 'vocab.txt']);
  const joined = (name: string) => {
    const parts = files.get(name)!, out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };
  const st = await readSafetensors(bytesSource('model.safetensors', joined('model.safetensors')));
  assert.ok([...st.tensors.values()].every((x) => x.dtype === 'F32' && x.byteOffset % 8 === 0), 'F32, data aligned to 8 bytes');
  // As a browser gets them: Blobs (Node 20 has Blob too).
  const checkpoint = await openCheckpoint(new Map([...files.keys()].map((k) => [k, blobSource(new Blob([joined(k)]), k)])), 'written');
  const { model: loaded } = await loadModel(rt, checkpoint);
  assert.equal(loaded.layerSizes, [{ heads: 0, neurons: 6 }, { heads: 2, neurons: 0 }]);
  const [masked, back] = [await outputs(model.forward(batch, masks)), await outputs(loaded.forward(batch))];
  const scale = Math.max(...masked.map(Math.abs));
  masked.forEach((v, i) => assert.ok(Math.abs(v - back[i]!) <= 1e-5 * scale, `logit ${i}: ${v} vs ${back[i]}`));
  // Determinism: the same model and masks give the same bytes.
  const again = await prunedModelFiles(await prunedCheckpoint(model, configJson, masks), input, { 'masks.json': masks });
  for (const name of files.keys()) {
    const a = joined(name), b = again.get(name)!.reduce((acc, p) => [...acc, ...p], [] as number[]);
    assert.ok(a.length === b.length && a.every((v, i) => v === b[i]), `${name} differs between two runs`);
  }
  loaded.dispose();
  model.dispose();
});

t('writeFolder: atomic, refuses an existing folder unless forced, never writes into or over an input', async () => {
  if (!isNode) return skip('writes files');
  const { checkOutputFolder, writeFolder } = await import('../../src/io/node.js');
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const dir = await fs.mkdtemp(`${os.tmpdir()}/wgprune-export-`);
  const files = new Map([['a.txt', [new TextEncoder().encode('one')]]]);
  const out = `${dir}/out`;
  await checkOutputFolder(out, { inputs: [`${dir}/model`] });
  await writeFolder(out, files);
  assert.equal(await fs.readFile(`${out}/a.txt`, 'utf8'), 'one');
  const refuse = async (p: Promise<unknown>, text: string) => p.then(() => assert.unreachable(`expected "${text}"`), (e: Error) => assert.match(e.message, text));
  await refuse(checkOutputFolder(out), 'already exists');
  await refuse(writeFolder(out, files), 'already exists');
  await writeFolder(out, new Map([['b.txt', [new TextEncoder().encode('two')]]]), { force: true });
  assert.equal(await fs.readdir(out), ['b.txt']);
  await fs.mkdir(`${dir}/model`);
  await refuse(checkOutputFolder(`${dir}/model`, { force: true, inputs: [`${dir}/model`] }), 'would replace or contain the input');
  await refuse(checkOutputFolder(`${dir}/./model/../model`, { force: true, inputs: [`${dir}/model`] }), 'would replace or contain the input');
  await refuse(checkOutputFolder(dir, { force: true, inputs: [`${dir}/model`] }), 'would replace or contain the input');
  await refuse(checkOutputFolder(`${dir}/model/pruned`, { inputs: [`${dir}/model`] }), 'lies inside the input');
  await refuse(checkOutputFolder(`${dir}/missing/pruned`), 'does not exist');
  await fs.writeFile(`${dir}/file`, 'x');
  await refuse(checkOutputFolder(`${dir}/file`, { force: true }), 'is not a folder');
  // A failed write leaves nothing behind.
  await refuse(writeFolder(`${dir}/bad`, new Map([['../x', [new Uint8Array(1)]]])), 'bad file name');
  assert.equal((await fs.readdir(dir)).sort(), ['file', 'model', 'out']);
  await fs.rm(dir, { recursive: true });
});

t.run();
