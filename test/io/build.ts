// Small checkpoints written in the test itself, so the parsers are tested in Node and in
// the browser alike, and corrupted copies are easy to make.
import type { WeightDType } from '../../src/io/dtype.js';

const enc = new TextEncoder();

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function f32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

export interface RawTensor { name: string; dtype: WeightDType; shape: number[]; data: Uint8Array }

/**
 * A safetensors file. `edit` may change the parsed header before it is written (to
 * corrupt it); the header is padded to 8 bytes as the reference writer does.
 */
export interface HeaderEntry { dtype: unknown; shape: unknown; data_offsets: unknown }

export function safetensorsFile(tensors: RawTensor[], edit?: (header: Record<string, HeaderEntry>) => void): Uint8Array {
  const header: Record<string, HeaderEntry> = {};
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    at += t.data.length;
  }
  edit?.(header);
  let json = JSON.stringify({ __metadata__: { format: 'pt' }, ...header });
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setUint32(0, json.length, true);
  return concat([len, enc.encode(json), ...tensors.map((t) => t.data)]);
}

// ------------------------------------------------------------------ pickles

/** Writes pickle opcodes (protocol 2, as torch.save does). */
export class PickleWriter {
  private parts: number[] = [];
  op(code: number, ...bytes: number[]): this { this.parts.push(code, ...bytes); return this; }
  proto(): this { return this.op(0x80, 2); }
  mark(): this { return this.op(0x28); }
  str(s: string): this {
    const b = enc.encode(s);
    return this.op(0x58, ...u32(b.length), ...b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= 0 && n < 65536) return this.op(0x4d, n & 0xff, n >> 8);
    return this.op(0x4a, ...u32(n));
  }
  global(module: string, name: string): this { return this.op(0x63, ...enc.encode(`${module}\n${name}\n`)); }
  tuple(items: number[]): this { this.mark(); for (const i of items) this.int(i); return this.op(0x74); }
  bytes(): Uint8Array { return Uint8Array.from(this.parts); }
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

export interface PickledTensor {
  name: string; storage: string; storageType?: string; storageNumel: number;
  offset: number; shape: number[]; stride?: number[];
}

function contiguous(shape: number[]): number[] {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** A state dict pickle as torch.save writes it; `legacy` adds the sixth persistent-id item. */
export function stateDictPickle(tensors: PickledTensor[], { legacy = false } = {}): Uint8Array {
  const w = new PickleWriter().proto();
  w.global('collections', 'OrderedDict').op(0x29).op(0x52).mark();
  for (const t of tensors) {
    w.str(t.name).global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', t.storageType ?? 'FloatStorage').str(t.storage).str('cpu').int(t.storageNumel);
    if (legacy) w.op(0x4e);
    w.op(0x74).op(0x51); // TUPLE, BINPERSID
    w.int(t.offset).tuple(t.shape).tuple(t.stride ?? contiguous(t.shape)).op(0x89);
    w.global('collections', 'OrderedDict').op(0x29).op(0x52).op(0x74).op(0x52);
  }
  return w.op(0x75).op(0x2e).bytes(); // SETITEMS, STOP
}

// ------------------------------------------------------------------ zip

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A zip of stored entries (method may be overridden to fake a compressed one). With
 * `zip64`, sizes and offsets go in ZIP64 extra fields and records, as writers do for
 * archives over 4 GiB.
 */
export function zipFile(entries: { name: string; data: Uint8Array; method?: number }[], { zip64 = false } = {}): Uint8Array {
  const locals: Uint8Array[] = [], centrals: Uint8Array[] = [];
  const FF = 0xffffffff;
  let at = 0;
  for (const e of entries) {
    const name = enc.encode(e.name), crc = crc32(e.data), method = e.method ?? 0;
    const local = new Uint8Array(30 + name.length), dv = new DataView(local.buffer);
    dv.setUint32(0, 0x04034b50, true); dv.setUint16(4, 20, true); dv.setUint16(8, method, true);
    dv.setUint32(14, crc, true); dv.setUint32(18, e.data.length, true); dv.setUint32(22, e.data.length, true);
    dv.setUint16(26, name.length, true);
    local.set(name, 30);
    const extra = zip64 ? 4 + 24 : 0;
    const central = new Uint8Array(46 + name.length + extra), cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true); cv.setUint16(4, 45, true); cv.setUint16(6, zip64 ? 45 : 20, true); cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true); cv.setUint32(20, zip64 ? FF : e.data.length, true); cv.setUint32(24, zip64 ? FF : e.data.length, true);
    cv.setUint16(28, name.length, true); cv.setUint16(30, extra, true); cv.setUint32(42, zip64 ? FF : at, true);
    central.set(name, 46);
    if (zip64) {
      const x = 46 + name.length;
      cv.setUint16(x, 1, true); cv.setUint16(x + 2, 24, true);
      cv.setBigUint64(x + 4, BigInt(e.data.length), true); cv.setBigUint64(x + 12, BigInt(e.data.length), true); cv.setBigUint64(x + 20, BigInt(at), true);
    }
    locals.push(local, e.data);
    centrals.push(central);
    at += local.length + e.data.length;
  }
  const cd = concat(centrals), end = new Uint8Array(22), ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, zip64 ? 0xffff : entries.length, true); ev.setUint16(10, zip64 ? 0xffff : entries.length, true);
  ev.setUint32(12, zip64 ? FF : cd.length, true); ev.setUint32(16, zip64 ? FF : at, true);
  if (!zip64) return concat([...locals, cd, end]);
  const rec = new Uint8Array(56), rv = new DataView(rec.buffer);
  rv.setUint32(0, 0x06064b50, true); rv.setBigUint64(4, 44n, true); rv.setUint16(12, 45, true); rv.setUint16(14, 45, true);
  rv.setBigUint64(24, BigInt(entries.length), true); rv.setBigUint64(32, BigInt(entries.length), true);
  rv.setBigUint64(40, BigInt(cd.length), true); rv.setBigUint64(48, BigInt(at), true);
  const loc = new Uint8Array(20), lv = new DataView(loc.buffer);
  lv.setUint32(0, 0x07064b50, true); lv.setBigUint64(8, BigInt(at + cd.length), true); lv.setUint32(16, 1, true);
  return concat([...locals, cd, rec, loc, end]);
}

/** A torch.save zip: archive/data.pkl, archive/data/<key> per storage, archive/version. */
export function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array>, method?: number, zip64 = false): Uint8Array {
  return zipFile([
    { name: 'archive/data.pkl', data: pickle },
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data, ...(method === undefined ? {} : { method }) })),
    { name: 'archive/version', data: enc.encode('3\n') },
  ], { zip64 });
}

/** The legacy (pre-1.6) layout: magic, version, sys_info, state dict, keys, storages. */
export function torchLegacy(tensors: PickledTensor[], storages: Record<string, Uint8Array>, elementSize = 4): Uint8Array {
  const magic = Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
  const version = new PickleWriter().proto().int(1001).op(0x2e).bytes();
  const sysInfo = new PickleWriter().proto().op(0x7d).mark().str('protocol_version').int(1001).str('little_endian').op(0x88).op(0x75).op(0x2e).bytes();
  const keys = new PickleWriter().proto().op(0x5d).mark();
  for (const k of Object.keys(storages)) keys.str(k);
  keys.op(0x65).op(0x2e);
  const data = Object.values(storages).map((b) => {
    const count = new Uint8Array(8);
    new DataView(count.buffer).setUint32(0, b.length / elementSize, true);
    return concat([count, b]);
  });
  return concat([magic, version, sysInfo, stateDictPickle(tensors, { legacy: true }), keys.bytes(), ...data]);
}
