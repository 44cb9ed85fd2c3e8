// Mutated copies of the real checkpoints of every format (test/fixtures/checkpoints: one tiny
// BERT written by PyTorch as safetensors F32/F16/BF16, sharded, and pytorch_model.bin zip,
// legacy and with shared storage) must each end in a WgpruneError, or load the values the
// file holds:
// - damage (bytes changed, cut, inserted; headers included): a successful load must give
//   every tensor the original's values or, in a format without a checksum (safetensors,
//   legacy), those at its original place in the damaged file (where the damage hit the
//   tensor's own data), which must then be finite (non-finite ones are refused);
// - rewrites (a header edited into another well-formed one; a zip's pickle changed and its
//   CRC-32 fixed): no checksum can tell these from a real file, so only a clean end is
//   required (a WgpruneError, or finite values of the shapes the config implies).
import { openCheckpoint } from '../../src/io/checkpoint.js';
import { crc32 } from '../../src/io/crc32.js';
import { toFloat32, type WeightDType } from '../../src/io/dtype.js';
import { readPytorch } from '../../src/io/pytorch.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { bytesSource } from '../../src/io/source.js';
import { readZipArchive, readZipDirectory } from '../../src/io/zip.js';
import { parseConfig, type ModelConfig } from '../../src/models/config.js';
import { weightSource } from '../../src/models/load.js';
import { planWeights } from '../../src/models/weights.js';
import type { Random } from '../helpers/random.js';
import { below, concatBytes, fuzzFile, mutateBytes, oddJsonValue, outcome, pick, record, type FuzzCase, type FuzzTarget } from './harness.js';

type Files = Map<string, Uint8Array>;
interface Location { file: string; byteOffset: number; byteLength: number; dtype: WeightDType }

const FIXTURES = 'test/fixtures/checkpoints';

async function readFolder(dir: string): Promise<Files> {
  const fs = await import('node:fs/promises');
  const files: Files = new Map();
  for (const name of (await fs.readdir(dir)).sort()) {
    if (name === 'reference.json' || name === 'vocab.txt') continue;
    files.set(name, new Uint8Array(await fs.readFile(`${dir}/${name}`)));
  }
  return files;
}

/** What wgprune's loader does with a folder, short of the device: open, plan against config.json, read every tensor. */
async function load(files: Files): Promise<{ config: ModelConfig; values: Map<string, Float32Array> }> {
  const ckpt = await openCheckpoint(new Map([...files].map(([k, v]) => [k, bytesSource(k, v)])), 'fuzz');
  try {
    const config = parseConfig(ckpt.config);
    const source = weightSource(ckpt);
    const values = new Map<string, Float32Array>();
    for (const { name } of planWeights(config, source).plan) values.set(name, await source.read(name));
    return { config, values };
  } finally {
    await ckpt.close();
  }
}

/** Where each tensor of the original lies, from the format readers themselves. */
async function locations(files: Files): Promise<Map<string, Location>> {
  const out = new Map<string, Location>();
  for (const [name, bytes] of files) {
    if (!/\.(safetensors|bin)$/.test(name)) continue;
    const src = bytesSource(name, bytes);
    const w = name.endsWith('.bin') ? await readPytorch(src) : await readSafetensors(src);
    for (const [t, loc] of w.tensors) out.set(t, { file: name, byteOffset: loc.byteOffset, byteLength: loc.byteLength, dtype: loc.dtype });
  }
  return out;
}

const bitsEqual = (a: Float32Array, b: Float32Array) => {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
};

const sameConfig = (a: ModelConfig, b: ModelConfig) => JSON.stringify(a) === JSON.stringify(b);

interface Mutation { files: Files; what: string; kind: 'damage' | 'rewrite' }

/**
 * The check of one mutated folder. Damage: a load must give every tensor the original's
 * values or, in a format without a checksum, those at its original place in the damaged
 * file. Rewrite: a clean end.
 */
function check(original: { files: Files; config: ModelConfig; values: Map<string, Float32Array>; where: Map<string, Location>; checksummed: boolean }, m: Mutation): () => Promise<string | undefined> {
  return async () => {
    let loaded: Awaited<ReturnType<typeof load>> | undefined;
    const end = await outcome(async () => { loaded = await load(m.files); });
    if (end.problem) return end.problem;
    if (end.error) { record(end.error); return undefined; }
    record(m.kind === 'damage' ? 'loaded' : 'loaded (rewrite)');
    const { config, values } = loaded!;
    for (const [name, v] of values) if (v.some((x) => !Number.isFinite(x))) return `tensor "${name}" loaded with non-finite values`;
    if (m.kind === 'rewrite') return undefined;
    if (!sameConfig(config, original.config)) return `loaded with another config: ${JSON.stringify(config)}`;
    if ([...values.keys()].join() !== [...original.values.keys()].join()) return 'loaded other tensors than the original';
    for (const [name, v] of values) {
      const loc = original.where.get(name)!;
      const bytes = m.files.get(loc.file);
      // A zip's CRC-32 covers the data: there, only the original's values may load.
      const inside = !original.checksummed && bytes && loc.byteOffset + loc.byteLength <= bytes.length;
      const expected = inside ? toFloat32(bytes.slice(loc.byteOffset, loc.byteOffset + loc.byteLength), loc.dtype, name) : original.values.get(name)!;
      // The original's values are right too: a change the format absorbed (a byte removed from
      // a legacy pickle's sys_info shifts every storage, and the reader follows).
      if (!bitsEqual(v, expected) && !bitsEqual(v, original.values.get(name)!)) return `tensor "${name}" loaded other values than the file holds at its place (wrong bytes read as weights)`;
    }
    return undefined;
  };
}

// ------------------------------------------------------------------ format-aware mutations

/** A safetensors header rewritten well-formed with one field changed (length prefix and padding redone). */
function rewriteSafetensorsHeader(rand: Random, bytes: Uint8Array): { bytes: Uint8Array; what: string } {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, Record<string, unknown>>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = pick(rand, names), entry = header[name]!;
  let what: string;
  switch (below(rand, 7)) {
    case 0: { const d = pick(rand, ['F32', 'F16', 'BF16', 'I32', 'F64', 'U8', 'BOOL', 'F17']); entry.dtype = d; what = `dtype of "${name}" = ${d}`; break; }
    case 1: {
      const shape = [...(entry.shape as number[])];
      const i = below(rand, Math.max(1, shape.length));
      shape[i] = pick(rand, [0, 1, (shape[i] ?? 1) + 1, (shape[i] ?? 1) - 1, (shape[i] ?? 1) * 2, 2 ** 31, 2 ** 53, -1]);
      if (rand.next() < 0.2) shape.reverse();
      entry.shape = shape;
      what = `shape of "${name}" = ${JSON.stringify(shape)}`;
      break;
    }
    case 2: {
      const [b, e] = entry.data_offsets as [number, number];
      const delta = pick(rand, [1, -1, 4, -4, 8, e - b, b - e]);
      entry.data_offsets = rand.next() < 0.5 ? [b + delta, e + delta] : [b, e + delta];
      what = `data_offsets of "${name}" = ${JSON.stringify(entry.data_offsets)}`;
      break;
    }
    case 3: {
      const other = header[pick(rand, names)]!;
      [entry.data_offsets, other.data_offsets] = [other.data_offsets, entry.data_offsets];
      what = `data_offsets of "${name}" swapped with another tensor's`;
      break;
    }
    case 4: { const v = oddJsonValue(rand); entry[pick(rand, ['dtype', 'shape', 'data_offsets'])] = v; what = `a field of "${name}" = ${JSON.stringify(v)}`; break; }
    case 5: { delete header[name]; what = `entry "${name}" deleted`; break; }
    default: {
      const renamed = name.replace(/\d/, (d) => String((Number(d) + 1) % 10));
      header[renamed] = entry;
      if (renamed !== name) delete header[name];
      what = `"${name}" renamed "${renamed}"`;
    }
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const text = new TextEncoder().encode(json), len = new Uint8Array(8);
  new DataView(len.buffer).setUint32(0, text.length, true);
  return { bytes: concatBytes([len, text, bytes.subarray(8 + n)]), what: `header rewritten: ${what}` };
}

interface ZipLayout { entries: { name: string; central: number; local: number; data: number; size: number; descriptor: number }[]; centralOffset: number }

async function zipLayout(bytes: Uint8Array): Promise<ZipLayout> {
  const src = bytesSource('zip', bytes);
  const { centralOffset } = await readZipDirectory(src);
  const archive = await readZipArchive(src);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const centralAt = new Map<string, number>();
  for (let at = centralOffset; dv.getUint32(at, true) === 0x02014b50;) {
    const n = dv.getUint16(at + 28, true);
    centralAt.set(new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + n)), at);
    at += 46 + n + dv.getUint16(at + 30, true) + dv.getUint16(at + 32, true);
  }
  return {
    centralOffset,
    entries: [...archive.values()].map((e) => ({ name: e.name, central: centralAt.get(e.name)!, local: e.localHeaderOffset, data: e.dataOffset, size: e.size, descriptor: e.dataOffset + e.size })),
  };
}

/** Changes an entry's data in place and, for a rewrite, writes its new CRC-32 into both headers. */
function editZipEntry(rand: Random, bytes: Uint8Array, layout: ZipLayout, name: string, fixCrc: boolean): { bytes: Uint8Array; what: string } {
  const e = layout.entries.find((x) => x.name === name)!;
  const out = bytes.slice();
  const region = out.subarray(e.data, e.data + e.size);
  let m: { bytes: Uint8Array; what: string };
  do m = mutateBytes(rand, region); while (m.bytes.length !== region.length); // in place only
  region.set(m.bytes);
  if (fixCrc) {
    const dv = new DataView(out.buffer), crc = crc32(region);
    dv.setUint32(e.central + 16, crc, true);
    if (dv.getUint32(e.descriptor, true) === 0x08074b50) dv.setUint32(e.descriptor + 4, crc, true);
    else dv.setUint32(e.local + 14, crc, true);
  }
  return { bytes: out, what: `${name}: ${m.what}${fixCrc ? ', CRC-32 fixed' : ''}` };
}

function mutateOne(files: Files, name: string, f: (bytes: Uint8Array) => { bytes: Uint8Array; what: string }, kind: Mutation['kind']): Mutation {
  const out = new Map(files);
  const m = f(files.get(name)!);
  out.set(name, m.bytes);
  return { files: out, what: `${name}: ${m.what}`, kind };
}

function safetensorsMutation(rand: Random, files: Files): Mutation {
  const weights = [...files.keys()].filter((k) => k.endsWith('.safetensors'));
  const index = files.has('model.safetensors.index.json');
  const r = rand.next();
  if (index && r < 0.15) return mutateOne(files, 'model.safetensors.index.json', (b) => mutateBytes(rand, b), 'damage');
  const name = pick(rand, weights), bytes = files.get(name)!;
  const headerEnd = 8 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  if (r < 0.45) return mutateOne(files, name, (b) => mutateBytes(rand, b, [0, headerEnd]), 'damage');
  if (r < 0.65) return mutateOne(files, name, (b) => rewriteSafetensorsHeader(rand, b), 'rewrite');
  if (r < 0.85) return mutateOne(files, name, (b) => mutateBytes(rand, b, [headerEnd, b.length]), 'damage');
  return mutateOne(files, name, (b) => mutateBytes(rand, b), 'damage');
}

function zipMutation(rand: Random, files: Files, layout: ZipLayout): Mutation {
  const name = 'pytorch_model.bin', bytes = files.get(name)!;
  const pkl = layout.entries.find((e) => e.name.endsWith('data.pkl'))!.name;
  const r = rand.next();
  if (r < 0.35) {
    // A header: an entry's local header or data descriptor, or the central directory and end records.
    const e = pick(rand, layout.entries);
    const region: [number, number] = pick(rand, [[e.local, e.data], [e.descriptor, e.descriptor + 16], [layout.centralOffset, bytes.length], [e.central, e.central + 46]] as [number, number][]);
    return mutateOne(files, name, (b) => mutateBytes(rand, b, region), 'damage');
  }
  if (r < 0.55) return mutateOne(files, name, (b) => editZipEntry(rand, b, layout, pkl, true), 'rewrite');
  if (r < 0.65) return mutateOne(files, name, (b) => editZipEntry(rand, b, layout, pkl, false), 'damage');
  if (r < 0.8) return mutateOne(files, name, (b) => editZipEntry(rand, b, layout, pick(rand, layout.entries.filter((e) => e.name.includes('/data/'))).name, false), 'damage');
  return mutateOne(files, name, (b) => mutateBytes(rand, b), 'damage');
}

function legacyMutation(rand: Random, files: Files, where: Map<string, Location>): Mutation {
  const name = 'pytorch_model.bin', bytes = files.get(name)!;
  const firstData = Math.min(...[...where.values()].map((l) => l.byteOffset));
  const r = rand.next();
  if (r < 0.5) return mutateOne(files, name, (b) => mutateBytes(rand, b, [0, firstData]), 'damage'); // the pickles
  if (r < 0.65) {
    // An 8-byte element count before a storage's data.
    const loc = pick(rand, [...where.values()]);
    return mutateOne(files, name, (b) => mutateBytes(rand, b, [loc.byteOffset - 8, loc.byteOffset]), 'damage');
  }
  return mutateOne(files, name, (b) => mutateBytes(rand, b, rand.next() < 0.5 ? [firstData, bytes.length] : [0, bytes.length]), 'damage');
}

function formatTarget(format: string): FuzzTarget {
  return async () => {
    const files = await readFolder(`${FIXTURES}/${format}`);
    const { config, values } = await load(files);
    const where = await locations(files);
    const zip = format === 'pytorch-zip' || format === 'pytorch-shared-storage';
    const original = { files, config, values, where, checksummed: zip };
    const layout = zip ? await zipLayout(files.get('pytorch_model.bin')!) : undefined;
    return (rand): FuzzCase => {
      let m: Mutation;
      if (format.startsWith('safetensors')) m = safetensorsMutation(rand, files);
      else if (layout) m = zipMutation(rand, files, layout);
      else m = legacyMutation(rand, files, where);
      // Now and then a second change in place on top of a first that kept every length (after
      // a shift, "the original place" of the second would be ambiguous).
      const sameLengths = [...m.files].every(([k, v]) => v.length === files.get(k)!.length);
      if (sameLengths && rand.next() < 0.15) {
        const name = pick(rand, [...m.files.keys()].filter((k) => k !== 'config.json'));
        let more: { bytes: Uint8Array; what: string };
        do more = mutateBytes(rand, m.files.get(name)!); while (more.bytes.length !== files.get(name)!.length);
        m = { files: new Map(m.files).set(name, more.bytes), what: `${m.what}; ${name}: ${more.what}`, kind: m.kind };
      }
      return { what: `${m.kind}: ${m.what}`, check: check(original, m) };
    };
  };
}

const formats = ['safetensors-f32', 'safetensors-f16', 'safetensors-bf16', 'safetensors-sharded', 'pytorch-zip', 'pytorch-legacy', 'pytorch-shared-storage'];
await fuzzFile('fuzz checkpoints', Object.fromEntries(formats.map((f) => [f, formatTarget(f)])), 300);
