import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openCheckpoint, type Checkpoint } from '../../src/io/checkpoint.js';
import { CheckpointError, UnsupportedCheckpointError, WeightsNotFoundError } from '../../src/io/errors.js';
import { directoryFolder, fileSource, openCheckpointDirectory } from '../../src/io/node.js';
import { bytesSource, mapFolder, type ByteSource, type Folder } from '../../src/io/source.js';
import { fromHalfBits, toHalfBits } from '../../src/runtime/dtype.js';
import { skip } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { f32Bytes, safetensorsFile } from './build.js';

const s = suite('checkpoint');
const rand = new Random();
const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const FIXTURES = 'test/fixtures/checkpoints';
const VARIANTS = ['safetensors-f32', 'safetensors-f16', 'safetensors-bf16', 'safetensors-sharded', 'pytorch-zip', 'pytorch-legacy', 'pytorch-shared-storage'];
const enc = new TextEncoder();
const CONFIG = bytesSource('config.json', enc.encode('{"model_type":"bert","hidden_size":4}'));

/** Every tensor of a checkpoint as float32, by name. */
async function readAll(ckpt: Checkpoint): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const name of ckpt.tensors.keys()) out.set(name, await ckpt.readFloat32(name));
  return out;
}

/** A folder whose sources count the bytes read from them. */
function counting(folder: Folder): { folder: Folder; bytesRead: () => number } {
  let total = 0;
  return {
    folder: {
      ...folder,
      async open(file) {
        const src = await folder.open(file);
        return { ...src, read: async (o: number, l: number) => { total += l; return src.read(o, l); }, close: () => src.close?.() ?? Promise.resolve() };
      },
    },
    bytesRead: () => total,
  };
}

const bf16Round = (x: number) => {
  const b = new Uint32Array(new Float32Array([x]).buffer)[0]!;
  const r = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16; // round to nearest even
  return new Float32Array(new Uint32Array([r << 16]).buffer)[0]!;
};

s('every tiny-bert format loads, and all agree with the F32 safetensors', async () => {
  if (!isNode) return skip('fixture files need Node (the test server serves dist/test/browser only)');
  const ref = await openCheckpointDirectory(`${FIXTURES}/safetensors-f32`);
  assert.is(ref.config.hidden_size, 32);
  const expected = await readAll(ref);
  assert.is(expected.get('bert.embeddings.word_embeddings.weight')!.length, 100 * 32);
  for (const variant of VARIANTS) {
    const ckpt = await openCheckpointDirectory(`${FIXTURES}/${variant}`);
    assert.is(ckpt.format, variant.startsWith('pytorch-') ? (variant === 'pytorch-legacy' ? 'pytorch-legacy' : 'pytorch-zip') : variant === 'safetensors-sharded' ? 'safetensors-sharded' : 'safetensors', variant);
    assert.equal([...ckpt.tensors.keys()].sort(), [...ref.tensors.keys()].sort(), `${variant}: tensor names`);
    for (const [name, info] of ckpt.tensors) {
      assert.equal(info.shape, ref.tensors.get(name)!.shape, `${variant}: ${name} shape`);
      const got = await ckpt.readFloat32(name), want = expected.get(name)!;
      const round = info.dtype === 'F16' ? (x: number) => fromHalfBits(toHalfBits(x)) : info.dtype === 'BF16' ? bf16Round : (x: number) => x;
      for (let i = 0; i < want.length; i++) {
        // F16 and BF16 hold the F32 values rounded to nearest even, and widen back exactly.
        if (got[i] !== Math.fround(round(want[i]!))) assert.unreachable(`${variant}: ${name}[${i}] is ${got[i]}, expected ${want[i]} rounded to ${info.dtype}`);
      }
    }
    await ckpt.close();
  }
  await ref.close();
});

s('shared storage: the tied views read as the right slices of one storage', async () => {
  if (!isNode) return skip('fixture files need Node');
  const ckpt = await openCheckpointDirectory(`${FIXTURES}/pytorch-shared-storage`);
  const ref = await openCheckpointDirectory(`${FIXTURES}/safetensors-f32`);
  // The archive holds data/0 of 3296 floats: the embeddings (100 x 32) then the classifier (3 x 32).
  const src = await fileSource(`${FIXTURES}/pytorch-shared-storage/pytorch_model.bin`);
  const file = await src.read(0, src.size);
  await src.close!();
  const emb = await ckpt.readFloat32('bert.embeddings.word_embeddings.weight');
  const cls = await ckpt.readFloat32('classifier.weight');
  assert.equal([...emb], [...await ref.readFloat32('bert.embeddings.word_embeddings.weight')]);
  assert.equal([...cls], [...await ref.readFloat32('classifier.weight')]);
  const at = (x: Float32Array) => findBytes(file, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  assert.ok(at(emb) > 0 && at(cls) === at(emb) + 3200 * 4, 'classifier at element 3200 of the embeddings storage');
  await Promise.all([ckpt.close(), ref.close()]);
});

function findBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

s('opening reads headers only; a tensor reads only its bytes (sst2-mini, 25 MB)', async () => {
  if (!isNode) return skip('fixture files need Node');
  const { existsSync } = await import(/* @vite-ignore */ ['node:fs'].join('')) as typeof import('node:fs');
  const dir = 'models/sst2-mini';
  if (!existsSync(`${dir}/model.safetensors`)) return skip(`${dir} not present`);
  const c = counting(await directoryFolder(dir));
  const ckpt = await openCheckpoint(c.folder);
  const opened = c.bytesRead();
  assert.ok(opened < 64 * 1024, `opening read ${opened} bytes`);
  const [name, info] = [...ckpt.tensors].find(([, t]) => t.shape.length === 2)!;
  const w = await ckpt.readFloat32(name);
  assert.is(c.bytesRead() - opened, w.length * 4, 'one tensor, its bytes only');
  assert.is(w.length, info.shape[0]! * info.shape[1]!);
  let total = 0;
  for (const n of ckpt.tensors.keys()) if (ckpt.tensors.get(n)!.dtype === 'F32') total += (await ckpt.readFloat32(n)).length;
  assert.ok(total > 5e6, `${total} floats`);
  await ckpt.close();
  assert.match(await rejectedMessage(() => ckpt.readFloat32(name)), 'after close()');
});

s('a PyTorch zip opens by reading the pickle and local headers only', async () => {
  if (!isNode) return skip('fixture files need Node');
  const c = counting(await directoryFolder(`${FIXTURES}/pytorch-zip`));
  const ckpt = await openCheckpoint(c.folder);
  assert.ok(c.bytesRead() < 20_000, `opening read ${c.bytesRead()} bytes of a 107 KB file`);
  await ckpt.close();
});

s('corrupted copies of the real files fail with their messages', async () => {
  if (!isNode) return skip('fixture files need Node');
  const bytesOf = async (path: string) => { const f = await fileSource(path); const b = await f.read(0, f.size); await f.close!(); return b; };
  // Truncated safetensors.
  const st = await bytesOf(`${FIXTURES}/safetensors-f32/model.safetensors`);
  const cut = await rejectedMessage(() => openCheckpoint(new Map([['config.json', CONFIG], ['model.safetensors', bytesSource('model.safetensors', st.subarray(0, 90_000))]])));
  assert.match(cut, /^model\.safetensors: tensor "[^"]+": data ends at byte \d+ but the file has 90000 \(truncated file\?\)$/);
  // A deflated entry in the real archive (method patched in the central directory).
  const zip = (await bytesOf(`${FIXTURES}/pytorch-zip/pytorch_model.bin`)).slice();
  const dv = new DataView(zip.buffer);
  for (let i = zip.length - 22; i >= 0; i--) {
    if (dv.getUint32(i, true) !== 0x02014b50) continue;
    const name = new TextDecoder().decode(zip.subarray(i + 46, i + 46 + dv.getUint16(i + 28, true)));
    if (name === 'pytorch_model/data/1') { dv.setUint16(i + 10, 8, true); break; }
  }
  const err = await rejectedError(() => openCheckpoint(new Map([['config.json', CONFIG], ['pytorch_model.bin', bytesSource('pytorch_model.bin', zip)]])));
  assert.instance(err, UnsupportedCheckpointError);
  assert.match(err.message, 'pytorch_model.bin: zip entry "pytorch_model/data/1" is compressed (method 8, deflate)');
  // Sharded, with the second shard missing.
  const dir = `${FIXTURES}/safetensors-sharded`;
  const files = new Map<string, ByteSource>();
  for (const f of ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors']) files.set(f, bytesSource(f, await bytesOf(`${dir}/${f}`)));
  assert.match(await rejectedMessage(() => openCheckpoint(files, 'tiny')),
    /^model\.safetensors\.index\.json: shard "model-00002-of-00002\.safetensors" \(holding e\.g\. "[^"]+"\) is not in tiny; download the missing shard$/);
});

// ------------------------------------------------------------------ built in the test (Node and browser)

const a = rand.uniform(6), b = rand.uniform(3);
const shard1 = safetensorsFile([{ name: 'a', dtype: 'F32', shape: [2, 3], data: f32Bytes(a) }]);
const shard2 = safetensorsFile([{ name: 'b', dtype: 'F32', shape: [3], data: f32Bytes(b) }]);
const index = (map: Record<string, string>) => bytesSource('model.safetensors.index.json', enc.encode(JSON.stringify({ metadata: { total_size: 36 }, weight_map: map })));

function folder(files: Record<string, Uint8Array | ByteSource>): Map<string, ByteSource> {
  return new Map(Object.entries(files).map(([k, v]) => [k, v instanceof Uint8Array ? bytesSource(k, v) : v]));
}

s('sharded safetensors: tensors from their shards', async () => {
  const ckpt = await openCheckpoint(folder({ 'config.json': CONFIG, 'model.safetensors.index.json': index({ a: 's1.safetensors', b: 's2.safetensors' }), 's1.safetensors': shard1, 's2.safetensors': shard2 }));
  assert.is(ckpt.format, 'safetensors-sharded');
  assert.equal(ckpt.tensors.get('b'), { name: 'b', dtype: 'F32', shape: [3], file: 's2.safetensors' });
  assert.equal([...await ckpt.readFloat32('a')], [...Float32Array.from(a)]);
  assert.equal([...await ckpt.readFloat32('b')], [...Float32Array.from(b)]);
});

s('sharded safetensors: a missing shard, and an index naming a tensor its shard lacks', async () => {
  const missing = await rejectedError(() => openCheckpoint(folder({ 'config.json': CONFIG, 'model.safetensors.index.json': index({ a: 's1.safetensors', b: 's2.safetensors' }), 's1.safetensors': shard1 }), 'my-model'));
  assert.instance(missing, CheckpointError);
  assert.is(missing.message, 'model.safetensors.index.json: shard "s2.safetensors" (holding e.g. "b") is not in my-model; download the missing shard');
  const lacks = await rejectedMessage(() => openCheckpoint(folder({ 'config.json': CONFIG, 'model.safetensors.index.json': index({ a: 's1.safetensors', b: 's1.safetensors' }), 's1.safetensors': shard1, 's2.safetensors': shard2 })));
  assert.is(lacks, 'model.safetensors.index.json: tensor "b" is mapped to "s1.safetensors", which does not contain it');
  const noMap = await rejectedMessage(() => openCheckpoint(folder({ 'config.json': CONFIG, 'model.safetensors.index.json': enc.encode('{"metadata":{}}') })));
  assert.is(noMap, 'model.safetensors.index.json: no "weight_map" object');
});

s('a folder with no weights lists what was looked for', async () => {
  const err = await rejectedError(() => openCheckpoint(folder({ 'config.json': CONFIG, 'vocab.txt': enc.encode('[PAD]'), 'tf_model.h5': new Uint8Array(4) }), 'bert-tiny'));
  assert.instance(err, WeightsNotFoundError);
  assert.is(err.message, 'bert-tiny: no weights: looked for model.safetensors, model.safetensors.index.json (with its shards) and pytorch_model.bin; ' +
    'found config.json, vocab.txt, tf_model.h5 (TensorFlow, Flax and ONNX weights are not read: convert to safetensors)');
  const noConfig = await rejectedError(() => openCheckpoint(folder({ 'model.safetensors': shard1 }), 'bert-tiny'));
  assert.instance(noConfig, WeightsNotFoundError);
  assert.is(noConfig.message, 'bert-tiny: no config.json; a Hugging Face model folder holds config.json and the weights');
});

s('config.json that is not JSON, or not an object, names the file', async () => {
  const bad = await rejectedMessage(() => openCheckpoint(folder({ 'config.json': enc.encode('{"hidden_size": 32,'), 'model.safetensors': shard1 })));
  assert.match(bad, /^config\.json: not valid JSON: /);
  const arr = await rejectedMessage(() => openCheckpoint(folder({ 'config.json': enc.encode('[1]'), 'model.safetensors': shard1 })));
  assert.is(arr, 'config.json: expected a JSON object, found an array');
});

s('model.safetensors wins over pytorch_model.bin; closing closes what was opened', async () => {
  let closed = 0;
  const tracked = (name: string, bytes: Uint8Array): ByteSource => ({ ...bytesSource(name, bytes), close: async () => { closed++; } });
  const ckpt = await openCheckpoint(mapFolder('m', folder({ 'config.json': tracked('config.json', enc.encode('{}')), 'model.safetensors': tracked('model.safetensors', shard1), 'pytorch_model.bin': tracked('pytorch_model.bin', new Uint8Array(3)) })));
  assert.is(ckpt.format, 'safetensors');
  await ckpt.close();
  assert.is(closed, 2);
});

async function rejectedError(fn: () => Promise<unknown>): Promise<Error> {
  try { await fn(); } catch (e) { return e as Error; }
  throw new Error('expected an error, none was thrown');
}

async function rejectedMessage(fn: () => Promise<unknown>): Promise<string> {
  return (await rejectedError(fn)).message;
}

s.run();
