import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openCheckpoint } from '../../src/io/checkpoint.js';
import { CheckpointError, UnsafePickleError, UnsupportedCheckpointError } from '../../src/io/errors.js';
import { readPytorch } from '../../src/io/pytorch.js';
import { bytesSource } from '../../src/io/source.js';
import { Random } from '../helpers/random.js';
import { concat, f32Bytes, PickleWriter, stateDictPickle, torchLegacy, torchZip, type PickledTensor } from './build.js';

const s = suite('pytorch');
const rand = new Random();
const FILE = 'pytorch_model.bin';

// Tied weights, as the shared-storage fixture has them: one storage of 5 * 4 + 2 * 4
// floats, the embeddings at offset 0 and the classifier at offset 20; a bias of its own.
const shared = rand.uniform(28), bias = rand.uniform(2);
const tensors: PickledTensor[] = [
  { name: 'embeddings.weight', storage: '0', storageNumel: 28, offset: 0, shape: [5, 4] },
  { name: 'classifier.weight', storage: '0', storageNumel: 28, offset: 20, shape: [2, 4] },
  { name: 'classifier.bias', storage: '1', storageNumel: 2, offset: 0, shape: [2] },
];
const storages = { 0: f32Bytes(shared), 1: f32Bytes(bias) };

async function load(bytes: Uint8Array) {
  return openCheckpoint(new Map([
    ['config.json', bytesSource('config.json', new TextEncoder().encode('{"model_type":"bert"}'))],
    [FILE, bytesSource(FILE, bytes)],
  ]));
}

async function failure(bytes: Uint8Array, expected: string | RegExp, type: Function) {
  let error: unknown;
  try { await readPytorch(bytesSource(FILE, bytes)); } catch (e) { error = e; }
  assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
  if (typeof expected === 'string') assert.is((error as Error).message, expected);
  else assert.match((error as Error).message, expected);
}

const variants = [
  ['pytorch-zip', 'zip', torchZip(stateDictPickle(tensors), storages)],
  ['pytorch-zip', 'ZIP64 zip', torchZip(stateDictPickle(tensors), storages, undefined, true)],
  ['pytorch-legacy', 'legacy', torchLegacy(tensors, storages)],
] as const;
for (const [format, label, bytes] of variants) {
  s(`${label}: views at offsets of one storage read as their own slices`, async () => {
    const ckpt = await load(bytes);
    assert.is(ckpt.format, format);
    assert.equal([...ckpt.tensors.values()].map((t) => [t.name, t.dtype, t.shape]),
      [['embeddings.weight', 'F32', [5, 4]], ['classifier.weight', 'F32', [2, 4]], ['classifier.bias', 'F32', [2]]]);
    const f = Float32Array.from(shared);
    assert.equal([...await ckpt.readFloat32('embeddings.weight')], [...f.subarray(0, 20)]);
    assert.equal([...await ckpt.readFloat32('classifier.weight')], [...f.subarray(20, 28)]);
    assert.equal([...await ckpt.readFloat32('classifier.bias')], [...Float32Array.from(bias)]);
    await ckpt.close();
  });
}

s('legacy: a state dict pickle longer than the first read window', async () => {
  // 700 one-element views of one storage: a pickle of ~100 KB, past the 64 KiB first read.
  const many = Array.from({ length: 700 }, (_, i) => ({ name: `layer.${i}.weight`, storage: '0', storageNumel: 700, offset: i, shape: [1] }));
  const values = rand.uniform(700);
  const ckpt = await load(torchLegacy(many, { 0: f32Bytes(values) }));
  assert.is(ckpt.tensors.size, 700);
  assert.equal([...await ckpt.readFloat32('layer.699.weight')], [Math.fround(values[699]!)]);
});

s('a forbidden GLOBAL (os.system) is refused by name before anything is called', async () => {
  // cos\nsystem\n (X'echo pwned' tR. : what a malicious pickle looks like; REDUCE never runs.
  const evil = new PickleWriter().proto().global('os', 'system').mark().str('echo pwned').op(0x74).op(0x52).op(0x2e).bytes();
  const message = /^pytorch_model\.bin \(archive\/data\.pkl\): refusing pickle global "os\.system" \(pickle byte 2\): a state dict holds only tensors, and this unpickler allows only collections\.OrderedDict, torch\._utils\._rebuild_tensor_v2, .*Nothing was executed\. The file may be malicious/;
  await failure(torchZip(evil, {}), message, UnsafePickleError);
  // Hidden inside an otherwise normal state dict, in the legacy layout too.
  const hidden = stateDictPickle(tensors).slice();
  const at = indexOf(hidden, 'collections\nOrderedDict\n');
  const patched = concat([hidden.subarray(0, at), new TextEncoder().encode('builtins\neval\n'), hidden.subarray(at + 'collections\nOrderedDict\n'.length)]);
  await failure(torchZip(patched, storages), /refusing pickle global "builtins\.eval" \(pickle byte 2\)/, UnsafePickleError);
  const legacy = torchLegacy([{ ...tensors[2]!, storageType: 'FloatStorage' }], { 1: storages[1] });
  const legacyEvil = legacy.slice();
  const g = indexOf(legacyEvil, 'torch._utils\n_rebuild_tensor_v2\n');
  legacyEvil.set(new TextEncoder().encode('subprocess\nPopen____________\n'), g);
  await failure(legacyEvil, /^pytorch_model\.bin: refusing pickle global "subprocess\.Popen____________"/, UnsafePickleError);
});

s('opcodes that build arbitrary objects are refused by name', async () => {
  const cases: [number[], string][] = [
    [[0x69, ...ascii('os\nsystem\n')], 'INST (0x69)'],
    [[0x93], 'STACK_GLOBAL (0x93)'],
    [[0x81], 'NEWOBJ (0x81)'],
    [[0x6f], 'OBJ (0x6f)'],
    [[0x82, 1], 'EXT1 (0x82)'],
    [[0xff], 'unknown (0xff)'],
  ];
  for (const [ops, name] of cases) {
    await failure(torchZip(Uint8Array.from([0x80, 2, ...ops, 0x2e]), {}), new RegExp(`^pytorch_model\\.bin \\(archive/data\\.pkl\\): refusing pickle opcode ${name.replace(/[()]/g, '\\$&')} at pickle byte 2`), UnsafePickleError);
  }
});

s('allowed globals used other than as torch.save does are refused', async () => {
  // torch.FloatStorage called as a function, not used as a type tag.
  const call = new PickleWriter().proto().global('torch', 'FloatStorage').op(0x29).op(0x52).op(0x2e).bytes();
  await failure(torchZip(call, {}), 'pytorch_model.bin (archive/data.pkl): torch.FloatStorage is allowed only as a type tag, not called', CheckpointError);
  // A persistent id that is not a storage (torch.save of a whole module writes these).
  const module = new PickleWriter().proto().mark().str('module').str('x').op(0x74).op(0x51).op(0x2e).bytes();
  await failure(torchZip(module, {}), 'pytorch_model.bin (archive/data.pkl): persistent id a tuple is not a storage (a pickled module or other object?)', CheckpointError);
  // A state dict entry that is not a tensor.
  const notTensor = new PickleWriter().proto().op(0x7d).str('x').int(3).op(0x73).op(0x2e).bytes();
  await failure(torchZip(notTensor, {}), 'pytorch_model.bin (archive/data.pkl): state dict entry "x" is number 3, not a tensor (not a plain state dict?)', CheckpointError);
});

s('a compressed zip entry is refused, naming the entry and the method', async () => {
  await failure(torchZip(stateDictPickle(tensors), storages, 8),
    'pytorch_model.bin: zip entry "archive/data/0" is compressed (method 8, deflate); wgprune reads only stored (uncompressed) entries as torch.save writes them: ' +
    'load and torch.save the state dict again, or convert it to safetensors', UnsupportedCheckpointError);
});

s('truncated archives and storages too small for their tensors', async () => {
  const zip = torchZip(stateDictPickle(tensors), storages);
  await failure(zip.subarray(0, zip.length - 30), 'pytorch_model.bin: no zip end-of-central-directory record: the archive is truncated or not a zip file', CheckpointError);
  const short = torchZip(stateDictPickle(tensors), { 0: f32Bytes(shared).subarray(0, 100), 1: storages[1] });
  await failure(short, 'pytorch_model.bin: zip entry "archive/data/0" holds 100 bytes but its storage has 28 F32 elements (112 bytes)', CheckpointError);
  const outside = stateDictPickle([{ ...tensors[1]!, offset: 24 }, tensors[2]!]);
  await failure(torchZip(outside, storages), 'pytorch_model.bin: tensor "classifier.weight" (elements 24..32) lies outside its storage "0" of 28 elements', CheckpointError);
  const legacy = torchLegacy(tensors, storages);
  await failure(legacy.subarray(0, legacy.length - 4), `pytorch_model.bin: storage "1" data ends at byte ${legacy.length} but the file has ${legacy.length - 4} (truncated file?)`, CheckpointError);
  await failure(legacy.subarray(0, 300), 'pytorch_model.bin: the file ends inside its pickles (truncated file?)', CheckpointError);
  await failure(torchZip(stateDictPickle(tensors), { 1: storages[1] }), 'pytorch_model.bin: storage "0" has no entry archive/data/0 in the archive', CheckpointError);
});

s('non-contiguous tensors are refused; other storage types keep their dtype', async () => {
  const transposed = stateDictPickle([{ name: 'w', storage: '0', storageNumel: 28, offset: 0, shape: [4, 7], stride: [1, 4] }]);
  await failure(torchZip(transposed, storages),
    'pytorch_model.bin (archive/data.pkl): tensor "w" is not contiguous (size [4, 7], stride [1, 4]); save state dicts of contiguous tensors ({k: v.contiguous() for k, v in sd.items()})',
    UnsupportedCheckpointError);
  const half = stateDictPickle([{ name: 'h', storage: '0', storageType: 'HalfStorage', storageNumel: 2, offset: 0, shape: [2] }, { name: 'ids', storage: '1', storageType: 'LongStorage', storageNumel: 1, offset: 0, shape: [1, 1], stride: [7, 1] }]);
  const ckpt = await load(torchZip(half, { 0: new Uint8Array(Uint16Array.from([0x3c00, 0xc000]).buffer), 1: new Uint8Array(8) }));
  assert.equal([...await ckpt.readFloat32('h')], [1, -2]);
  assert.is(ckpt.tensors.get('ids')!.dtype, 'I64');
});

s('neither zip nor legacy', async () => {
  await failure(new TextEncoder().encode('hello world'), 'pytorch_model.bin: neither a zip (torch.save since 1.6) nor a legacy PyTorch checkpoint (starts with 68 65 6c 6c)', CheckpointError);
  const wrongMagic = torchLegacy(tensors, storages).slice();
  wrongMagic[5] ^= 1;
  await failure(wrongMagic, 'pytorch_model.bin: not a PyTorch checkpoint (the legacy format starts with magic number 0x1950a86a20f9469cfc6c)', CheckpointError);
});

function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}

function indexOf(bytes: Uint8Array, s: string): number {
  const pat = ascii(s);
  for (let i = 0; i + pat.length <= bytes.length; i++) if (pat.every((b, j) => bytes[i + j] === b)) return i;
  throw new Error(`${s} not found`);
}

// ------------------------------------------------------------------ damaged archives (issue 13)

/** Byte offsets of an entry's central record and local header in a zip built by torchZip. */
function zipOffsets(zip: Uint8Array, name: string): { central: number; local: number } {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  for (let i = zip.length - 46; i >= 0; i--) {
    if (dv.getUint32(i, true) !== 0x02014b50) continue;
    const n = new TextDecoder().decode(zip.subarray(i + 46, i + 46 + dv.getUint16(i + 28, true)));
    if (n === name) return { central: i, local: dv.getUint32(i + 42, true) };
  }
  throw new Error(`${name} not in the archive`);
}

s('zip: a local header that disagrees with the central directory is refused', async () => {
  const zip = torchZip(stateDictPickle(tensors), storages);
  const { local, central } = zipOffsets(zip, 'archive/data/1');
  const renamed = zip.slice();
  renamed[local + 30 + 'archive/data/'.length] = 0x37; // "archive/data/1" -> "archive/data/7" in the local header only
  await failure(renamed, /^pytorch_model\.bin: zip entry "archive\/data\/1": the local header at byte \d+ says name "archive\/data\/7", the central directory "archive\/data\/1": the archive is damaged$/, CheckpointError);
  // A longer extra field in the local header would shift the data by 4 bytes: its size no
  // longer fits before the next entry.
  const extra = zip.slice();
  new DataView(extra.buffer).setUint16(local + 28, 4, true);
  await failure(extra, /zip entry "archive\/data\/1" \(bytes \d+\.\.\d+\) runs into entry "archive\/version"/, CheckpointError);
  // The central directory's local-header offset moved onto another entry's header.
  const moved = zip.slice();
  const other = zipOffsets(zip, 'archive/data/0').local;
  new DataView(moved.buffer).setUint32(central + 42, other, true);
  await failure(moved, /the local header at byte \d+ says name "archive\/data\/0", the central directory "archive\/data\/1"/, CheckpointError);
  // A CRC that differs between the two headers.
  const crc = zip.slice();
  crc[local + 14] ^= 1;
  await failure(crc, /zip entry "archive\/data\/1": the local header at byte \d+ says CRC-32 0x[0-9a-f]{8}, the central directory 0x[0-9a-f]{8}/, CheckpointError);
});

s('zip: damaged data fails its CRC-32 when read, naming the tensor', async () => {
  const zip = torchZip(stateDictPickle(tensors), storages);
  const { local } = zipOffsets(zip, 'archive/data/0');
  const damaged = zip.slice();
  damaged[local + 30 + 'archive/data/0'.length + 41] ^= 0x10; // inside the embeddings' data
  const ckpt = await load(damaged); // opening reads headers only
  assert.match(await rejectedMessage(() => ckpt.readFloat32('classifier.weight')),
    /^pytorch_model\.bin: tensor "classifier\.weight": its zip entry of storage "0" has CRC-32 0x[0-9a-f]{8}, the archive records 0x[0-9a-f]{8}: the file is damaged$/);
  assert.equal([...await ckpt.readFloat32('classifier.bias')], [...Float32Array.from(bias)], 'other storages still read');
  // The pickle's own entry is checked as it is read.
  const pkl = zip.slice();
  pkl[zipOffsets(zip, 'archive/data.pkl').local + 30 + 'archive/data.pkl'.length + 3] ^= 1;
  await failure(pkl, /^pytorch_model\.bin: zip entry "archive\/data\.pkl" has CRC-32 0x[0-9a-f]{8}, the archive records 0x[0-9a-f]{8}: the file is damaged$/, CheckpointError);
});

s('zip: a storage no tensor uses, and a name twice in the directory, are refused', async () => {
  // Tensor "classifier.bias" pointed at storage "0" (a changed key): storage "1" is left unused.
  const rekeyed = stateDictPickle([tensors[0]!, tensors[1]!, { ...tensors[2]!, storage: '0', storageNumel: 28 }]);
  await failure(torchZip(rekeyed, storages), 'pytorch_model.bin: zip entry "archive/data/1" is a storage no tensor uses: the pickle or the archive is damaged', CheckpointError);
  const zip = torchZip(stateDictPickle(tensors), storages);
  const twice = zip.slice();
  const { central } = zipOffsets(zip, 'archive/data/1');
  twice[central + 46 + 'archive/data/'.length] = 0x30; // the central name "archive/data/1" -> "archive/data/0"
  await failure(twice, 'pytorch_model.bin: zip entry "archive/data/0" appears twice in the central directory (damaged archive?)', CheckpointError);
});

s('a pickle appending a million items ends in an error, not a stack overflow', async () => {
  // EMPTY_LIST, MARK, 1,000,000 x BININT1 0, APPENDS, STOP as the state dict of a legacy file.
  const n = 1_000_000, body = new Uint8Array(2 + 2 * n + 2);
  body.set([0x5d, 0x28]);
  for (let i = 0; i < n; i++) body[2 + 2 * i] = 0x4b;
  body.set([0x65, 0x2e], 2 + 2 * n);
  const legacy = torchLegacy(tensors, storages);
  const magicVersionSys = legacy.subarray(0, indexOf(legacy, 'collections') - 3); // up to the state dict's PROTO
  const t0 = performance.now();
  await failure(concat([magicVersionSys, Uint8Array.of(0x80, 0x02), body, Uint8Array.of(0x80, 0x02, 0x5d, 0x2e)]), 'pytorch_model.bin: the pickle holds a list, not a state dict', CheckpointError);
  assert.ok(performance.now() - t0 < 5000, `${performance.now() - t0} ms`);
});

async function rejectedMessage(fn: () => Promise<unknown>): Promise<string> {
  try { await fn(); } catch (e) { return (e as Error).message; }
  throw new Error('expected an error, none was thrown');
}

s.run();
