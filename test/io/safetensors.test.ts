import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openCheckpoint } from '../../src/io/checkpoint.js';
import { CheckpointError, UnsupportedCheckpointError } from '../../src/io/errors.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { blobSource, bytesSource } from '../../src/io/source.js';
import { fromHalfBits, toHalfBits } from '../../src/runtime/dtype.js';
import { rejected } from '../helpers/compare.js';
import { Random } from '../helpers/random.js';
import { f32Bytes, safetensorsFile, type HeaderEntry, type RawTensor } from './build.js';

const s = suite('safetensors');
const rand = new Random();
const FILE = 'model.safetensors';
const Q = 'bert.encoder.layer.0.attention.self.query.weight';

const weights = rand.uniform(4 * 3);
const good: RawTensor[] = [
  { name: Q, dtype: 'F32', shape: [4, 3], data: f32Bytes(weights) },
  { name: 'bias', dtype: 'F32', shape: [3], data: f32Bytes([1, 2, 3]) },
  { name: 'position_ids', dtype: 'I64', shape: [1, 2], data: new Uint8Array(16) },
];

const open = (bytes: Uint8Array) => readSafetensors(bytesSource(FILE, bytes));
const editOf = (name: string, fn: (e: HeaderEntry) => void) => (h: Record<string, HeaderEntry>) => fn(h[name]!);

s('reads names, dtypes, shapes and the bytes of one tensor', async () => {
  const w = await open(safetensorsFile(good));
  assert.equal([...w.tensors.keys()], [Q, 'bias', 'position_ids']);
  const q = w.tensors.get(Q)!;
  assert.equal([q.dtype, q.shape, q.file], ['F32', [4, 3], FILE]);
  assert.equal(w.metadata, { format: 'pt' });
  const bytes = await q.source.read(q.byteOffset, q.byteLength);
  assert.equal([...new Float32Array(bytes.buffer)], [...Float32Array.from(weights)]);
});

s('F16 and BF16 widen to float32 exactly, zero-sized tensors read as empty', async () => {
  // Every kind of half: normal, subnormal, zero, -0, infinities, NaN, largest.
  const halves = [0x3c00, 0xbc00, 0x0001, 0x03ff, 0x8001, 0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x7bff, 0x3555];
  const bf = [0x3f80, 0xc000, 0x0001, 0x7f80, 0xff80, 0x7fc0, 0x4049, 0x8000];
  const u16 = (xs: number[]) => new Uint8Array(Uint16Array.from(xs).buffer);
  const bytes = safetensorsFile([
    { name: 'h', dtype: 'F16', shape: [halves.length], data: u16(halves) },
    { name: 'b', dtype: 'BF16', shape: [bf.length], data: u16(bf) },
    { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Uint8Array(0) },
  ]);
  const ckpt = await openCheckpoint(new Map([
    ['config.json', bytesSource('config.json', new TextEncoder().encode('{"model_type":"bert"}'))],
    [FILE, blobSource(new Blob([bytes.slice()]), FILE)],
  ]));
  assert.is(ckpt.format, 'safetensors');
  // Infinities and NaN are refused by default, naming the tensor, and read when allowed.
  const refused = await rejected(() => ckpt.readFloat32('h'));
  assert.match(refused, 'model.safetensors: tensor "h" holds 3 non-finite values (of 12; the first, Infinity, at index 7)');
  const h = await ckpt.readFloat32('h', { allowNonFinite: true });
  halves.forEach((bits, i) => assert.ok(Object.is(h[i], fromHalfBits(bits)) || (isNaN(h[i]!) && isNaN(fromHalfBits(bits))), `half 0x${bits.toString(16)}`));
  assert.is(toHalfBits(h[2]!), 1);
  const b = await ckpt.readFloat32('b', { allowNonFinite: true });
  const expected = bf.map((bits) => new Float32Array(new Uint32Array([bits << 16]).buffer)[0]!);
  bf.forEach((_, i) => assert.ok(Object.is(b[i], expected[i]) || (isNaN(b[i]!) && isNaN(expected[i]!)), `bf16 ${i}`));
  assert.is(b[6], 3.140625);
  assert.is((await ckpt.readFloat32('empty')).length, 0);
  await ckpt.close();
});

s('a non-float tensor is listed but refused as float weights', async () => {
  const ckpt = await openCheckpoint(new Map([
    ['config.json', bytesSource('config.json', new TextEncoder().encode('{}'))],
    [FILE, bytesSource(FILE, safetensorsFile(good))],
  ]));
  assert.is(ckpt.tensors.get('position_ids')!.dtype, 'I64');
  const err = await rejected(() => ckpt.readFloat32('position_ids'));
  assert.match(err, 'model.safetensors: tensor "position_ids": dtype I64 is not supported as weights: wgprune reads F32, F16 and BF16');
  assert.match(await rejected(() => ckpt.readFloat32('query.weight')), 'no tensor "query.weight" in the checkpoint (3 tensors; did you mean "bert.encoder.layer.0.attention.self.query.weight"?)');
});

async function failure(bytes: Uint8Array, expected: string, type: Function = CheckpointError) {
  let error: unknown;
  try { await open(bytes); } catch (e) { error = e; }
  assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
  assert.is((error as Error).message, expected);
}

s('truncated file: names the tensor, where its data ends, and the file size', async () => {
  const bytes = safetensorsFile(good);
  const cut = bytes.subarray(0, bytes.length - 5);
  await failure(cut, `model.safetensors: tensor "position_ids": data ends at byte ${bytes.length} but the file has ${cut.length} (truncated file?)`);
});

s('header length larger than the file', async () => {
  const bytes = safetensorsFile(good);
  new DataView(bytes.buffer).setUint32(0, 1e9, true);
  await failure(bytes, `model.safetensors: header length 1000000000 is larger than the file (${bytes.length} bytes): not a safetensors file, or truncated`);
  await failure(new Uint8Array(5), 'model.safetensors: 5 bytes, too short for a safetensors file (an 8-byte header length comes first)');
});

s('header that is not JSON', async () => {
  const bytes = safetensorsFile(good);
  bytes[8] = 0x5b; // '{' -> '[' : no longer valid JSON
  const err = await rejected(() => open(bytes));
  assert.match(err, /^model\.safetensors: header is not valid JSON \(.+\): not a safetensors file, or corrupted$/);
});

s('unknown dtype', async () => {
  await failure(safetensorsFile(good, editOf(Q, (e) => { e.dtype = 'F17'; })),
    `model.safetensors: tensor "${Q}": unknown dtype "F17" (known: F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U64, U32, U16, U8, BOOL)`);
});

s('shape that does not match the bytes, or is not a shape', async () => {
  await failure(safetensorsFile(good, editOf(Q, (e) => { e.shape = [4, 4]; })),
    `model.safetensors: tensor "${Q}": data_offsets [0, 48] hold 48 bytes but shape [4, 4] of F32 needs 64`);
  await failure(safetensorsFile(good, editOf(Q, (e) => { e.shape = [-4, 3]; })),
    `model.safetensors: tensor "${Q}": shape [-4,3] is not a list of non-negative integers`);
  await failure(safetensorsFile(good, editOf(Q, (e) => { e.shape = [4.5, 3]; })),
    `model.safetensors: tensor "${Q}": shape [4.5,3] is not a list of non-negative integers`);
});

s('overlapping tensors', async () => {
  // bias claims bytes 40..52, inside the query weight's 0..48.
  await failure(safetensorsFile(good, editOf('bias', (e) => { e.data_offsets = [40, 52]; })),
    `model.safetensors: tensor "bias" (data bytes 40..52) overlaps tensor "${Q}" (0..48)`);
});

s('offsets outside the file, or reversed', async () => {
  const bytes = safetensorsFile(good, editOf('bias', (e) => { e.data_offsets = [4000, 4012]; }));
  const dataStart = bytes.length - 48 - 12 - 16;
  await failure(bytes, `model.safetensors: tensor "bias": data ends at byte ${dataStart + 4012} but the file has ${bytes.length} (truncated file?)`);
  await failure(safetensorsFile(good, editOf('bias', (e) => { e.data_offsets = [60, 48]; })),
    'model.safetensors: tensor "bias": data_offsets [60, 48] end before they begin');
  await failure(safetensorsFile(good, editOf('bias', (e) => { e.data_offsets = [48]; })),
    'model.safetensors: tensor "bias": data_offsets [48] is not a pair of non-negative integers');
});

s('a source read past its end says so', async () => {
  const src = bytesSource('x.bin', new Uint8Array(10));
  assert.match(await rejected(() => src.read(8, 4)), 'x.bin: read of bytes 8..12 past the end of the file (10 bytes; truncated file?)');
  const err = await rejected(() => blobSource(new Blob([new Uint8Array(10)]), 'y.bin').read(9, 2));
  assert.match(err, 'y.bin: read of bytes 9..11 past the end');
  assert.ok(UnsupportedCheckpointError !== CheckpointError);
});

s('the tensors must fill the data section: no gap, nothing after the last', async () => {
  // bias moved 4 bytes on: bytes 48..52 belong to no tensor (found before the overlap that follows).
  const bytes = safetensorsFile(good, editOf('bias', (e) => { e.data_offsets = [52, 64]; }));
  await failure(bytes, 'model.safetensors: data bytes 48..52 belong to no tensor (before tensor "bias"); a safetensors file\'s tensors fill its data section: the header was changed, or the file is damaged');
  const tail = safetensorsFile(good, editOf('position_ids', (e) => { e.dtype = 'I32'; e.data_offsets = [60, 68]; }));
  await failure(tail, 'model.safetensors: 8 bytes after the last tensor\'s data belong to no tensor (the data section has 76, its tensors fill the first 68): the header was changed, or the file is damaged');
  const first = safetensorsFile([good[0]!, { name: 'bias', dtype: 'F32', shape: [3], data: f32Bytes([1, 2, 3]) }], editOf(Q, (e) => { e.shape = [3, 3]; e.data_offsets = [12, 48]; }));
  await failure(first, `model.safetensors: data bytes 0..12 belong to no tensor (before tensor "${Q}"); a safetensors file's tensors fill its data section: the header was changed, or the file is damaged`);
});

s('a header of a million empty tensors is refused at once', async () => {
  // 110,000 empty tensors: 6 MB of header. Before the cap, 89 MB of them took 28 s and 2 GB.
  const entries: string[] = [];
  for (let i = 0; i < 110_000; i++) entries.push(`"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
  const json = new TextEncoder().encode(`{${entries.join(',')}}`);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setUint32(0, json.length, true);
  const t0 = performance.now();
  await failure(concatBytes(len, json), 'model.safetensors: header holds over 100000 objects (110001 \'{\'); no model wgprune runs has that many tensors');
  assert.ok(performance.now() - t0 < 2000, `${performance.now() - t0} ms`);
  const big = new Uint8Array(8 + 17 * 2 ** 20);
  new DataView(big.buffer).setUint32(0, 17 * 2 ** 20, true);
  await failure(big, `model.safetensors: header length ${17 * 2 ** 20} is implausibly large (over ${16 * 2 ** 20} bytes)`);
});

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

s.run();
