// A minimal zip reader for torch.save archives: the central directory (ZIP64 included),
// and the data range of STORED entries. Compressed and encrypted entries are refused:
// torch writes every entry stored, its data aligned to 64 bytes.
import { CheckpointError, UnsupportedCheckpointError } from './errors.js';
import { decodeUtf8, type ByteSource } from './source.js';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  /** CRC-32 of the entry's data, from the central directory. */
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** An entry whose local header agrees with the central directory: where its data lies. */
export interface ZipData extends ZipEntry {
  dataOffset: number;
}

const EOCD_SIG = 0x06054b50, ZIP64_LOCATOR_SIG = 0x07064b50, ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50, LOCAL_SIG = 0x04034b50, DESCRIPTOR_SIG = 0x08074b50;
const METHODS: Record<number, string> = { 8: 'deflate', 9: 'deflate64', 12: 'bzip2', 14: 'lzma', 93: 'zstd', 95: 'xz' };
/** General-purpose flag bits: 0 encrypted, 3 sizes and CRC in a data descriptor after the data. */
const ENCRYPTED = 1, DESCRIPTOR = 8;

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u64(dv: DataView, at: number, what: string): number {
  const v = dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 2 ** 32;
  if (!Number.isSafeInteger(v)) throw new CheckpointError(`${what}: 64-bit value ${v} out of range`);
  return v;
}

function findEndRecord(tail: Uint8Array): number {
  const dv = view(tail);
  for (let i = tail.length - 22; i >= 0; i--) {
    if (dv.getUint32(i, true) === EOCD_SIG && i + 22 + dv.getUint16(i + 20, true) === tail.length) return i;
  }
  return -1;
}

/** The 64-bit values of a ZIP64 extra field (id 1), for the fields saturated at 0xffffffff, in the order given. */
function zip64Values(dv: DataView, from: number, length: number, saturated: boolean[], what: string): number[] {
  const out: number[] = [];
  for (let x = from; x + 4 <= from + length;) {
    const id = dv.getUint16(x, true), len = dv.getUint16(x + 2, true);
    if (id === 0x0001) {
      let p = x + 4;
      for (const s of saturated) {
        if (!s) continue;
        if (p + 8 > x + 4 + len || p + 8 > from + length) throw new CheckpointError(`${what}: ZIP64 extra field too short`);
        out.push(u64(dv, p, what));
        p += 8;
      }
      return out;
    }
    x += 4 + len;
  }
  if (saturated.some((s) => s)) throw new CheckpointError(`${what}: sizes or offset of 0xffffffff without a ZIP64 extra field`);
  return out;
}

/** The archive's central directory: its entries by name, and where it begins. */
export async function readZipDirectory(source: ByteSource): Promise<{ entries: Map<string, ZipEntry>; centralOffset: number }> {
  const file = source.name;
  // The end-of-central-directory record is 22 bytes plus a comment of up to 65,535 (torch
  // writes none): look in the last 4 KiB first, then in the whole window.
  let tailStart = 0, tail: Uint8Array = new Uint8Array(0), eocd = -1;
  for (const window of [4096, 22 + 0xffff]) {
    const tailLength = Math.min(source.size, window);
    tailStart = source.size - tailLength;
    tail = await source.read(tailStart, tailLength);
    eocd = findEndRecord(tail);
    if (eocd >= 0 || tailLength === source.size) break;
  }
  const tdv = view(tail);
  if (eocd < 0) throw new CheckpointError(`${file}: no zip end-of-central-directory record: the archive is truncated or not a zip file`);
  if (tdv.getUint16(eocd + 4, true) !== 0 || tdv.getUint16(eocd + 6, true) !== 0) {
    throw new UnsupportedCheckpointError(`${file}: multi-part (spanned) zip archives are not supported`);
  }
  let count = tdv.getUint16(eocd + 10, true);
  let cdSize = tdv.getUint32(eocd + 12, true);
  let cdOffset = tdv.getUint32(eocd + 16, true);
  let recordAt = tailStart + eocd; // where the directory must end: the first end record
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // ZIP64: a locator just before the record points at the 64-bit record.
    const locAt = tailStart + eocd - 20;
    if (locAt < 0) throw new CheckpointError(`${file}: ZIP64 archive without its locator record`);
    const loc = view(await source.read(locAt, 20));
    if (loc.getUint32(0, true) !== ZIP64_LOCATOR_SIG) throw new CheckpointError(`${file}: ZIP64 values in the end record, but no ZIP64 locator before it`);
    const recAt = u64(loc, 8, file);
    if (recAt + 56 > locAt) throw new CheckpointError(`${file}: ZIP64 end record at byte ${recAt} does not lie before its locator (byte ${locAt})`);
    const rec = view(await source.read(recAt, 56));
    if (rec.getUint32(0, true) !== ZIP64_EOCD_SIG) throw new CheckpointError(`${file}: no ZIP64 end record at byte ${recAt}`);
    count = u64(rec, 32, file);
    cdSize = u64(rec, 40, file);
    cdOffset = u64(rec, 48, file);
    recordAt = recAt;
  }
  if (cdOffset + cdSize > recordAt) {
    throw new CheckpointError(`${file}: the zip central directory (bytes ${cdOffset}..${cdOffset + cdSize}) runs past the end record at byte ${recordAt} (truncated or damaged file?)`);
  }
  if (count * 46 > cdSize) throw new CheckpointError(`${file}: the zip central directory of ${cdSize} bytes cannot hold the ${count} entries it is said to`);
  const cd = await source.read(cdOffset, cdSize);
  const dv = view(cd);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cdSize || dv.getUint32(at, true) !== CENTRAL_SIG) throw new CheckpointError(`${file}: zip central directory entry ${i} of ${count} is damaged`);
    const flags = dv.getUint16(at + 8, true), method = dv.getUint16(at + 10, true), crc32 = dv.getUint32(at + 16, true);
    const compressed32 = dv.getUint32(at + 20, true), size32 = dv.getUint32(at + 24, true);
    const nameLength = dv.getUint16(at + 28, true), extraLength = dv.getUint16(at + 30, true), commentLength = dv.getUint16(at + 32, true);
    const offset32 = dv.getUint32(at + 42, true);
    if (at + 46 + nameLength + extraLength + commentLength > cdSize) throw new CheckpointError(`${file}: zip central directory entry ${i} of ${count} runs past the directory`);
    const name = decodeUtf8(cd.subarray(at + 46, at + 46 + nameLength), `${file}: zip entry name`);
    const FF = 0xffffffff;
    // ZIP64 extended information: the 64-bit values of the fields saturated at 0xffffffff, in this order.
    const wide = zip64Values(dv, at + 46 + nameLength, extraLength, [size32 === FF, compressed32 === FF, offset32 === FF], `${file}: zip entry "${name}"`);
    const size = size32 === FF ? wide.shift()! : size32;
    const compressedSize = compressed32 === FF ? wide.shift()! : compressed32;
    const localHeaderOffset = offset32 === FF ? wide.shift()! : offset32;
    if (entries.has(name)) throw new CheckpointError(`${file}: zip entry "${name}" appears twice in the central directory (damaged archive?)`);
    entries.set(name, { name, method, flags, crc32, compressedSize, size, localHeaderOffset });
    at += 46 + nameLength + extraLength + commentLength;
  }
  if (at !== cdSize) throw new CheckpointError(`${file}: the zip central directory has ${cdSize - at} bytes after its ${count} entries (damaged archive?)`);
  return { entries, centralOffset: cdOffset };
}

/**
 * Where a STORED entry's data lies, after checking its local header against the central
 * directory: signature, name, method, flags, and CRC and sizes (in the local header, or in
 * the data descriptor after the data when flag bit 3 is set). Returns the data's offset and
 * the end of everything the entry occupies (descriptor included).
 */
export async function zipEntryData(source: ByteSource, entry: ZipEntry): Promise<{ dataOffset: number; end: number }> {
  const where = `${source.name}: zip entry "${entry.name}"`;
  if (entry.flags & ENCRYPTED) throw new UnsupportedCheckpointError(`${where} is encrypted; wgprune reads only unencrypted archives as torch.save writes them`);
  if (entry.method !== 0) {
    throw new UnsupportedCheckpointError(`${where} is compressed (method ${entry.method}${METHODS[entry.method] ? `, ${METHODS[entry.method]}` : ''}); ` +
      'wgprune reads only stored (uncompressed) entries as torch.save writes them: load and torch.save the state dict again, or convert it to safetensors');
  }
  if (entry.compressedSize !== entry.size) throw new CheckpointError(`${where}: stored entry with compressed size ${entry.compressedSize} != size ${entry.size}`);
  const at = entry.localHeaderOffset;
  if (at + 30 > source.size) throw new CheckpointError(`${where}: local header at byte ${at} lies past the end of the file (${source.size} bytes; truncated file?)`);
  const fixed = view(await source.read(at, 30));
  if (fixed.getUint32(0, true) !== LOCAL_SIG) throw new CheckpointError(`${where}: no local header at byte ${at}: the archive is damaged`);
  const nameLength = fixed.getUint16(26, true), extraLength = fixed.getUint16(28, true);
  const dataOffset = at + 30 + nameLength + extraLength;
  if (dataOffset > source.size) throw new CheckpointError(`${where}: local header at byte ${at} runs past the end of the file (truncated file?)`);
  const local = view(await source.read(at, 30 + nameLength + extraLength));
  const mismatch = (what: string, localValue: unknown, centralValue: unknown) =>
    new CheckpointError(`${where}: the local header at byte ${at} says ${what} ${String(localValue)}, the central directory ${String(centralValue)}: the archive is damaged`);
  const localName = new Uint8Array(local.buffer, local.byteOffset + 30, nameLength);
  const centralName = new TextEncoder().encode(entry.name);
  if (localName.length !== centralName.length || localName.some((b, i) => b !== centralName[i])) {
    throw mismatch('name', JSON.stringify(new TextDecoder().decode(localName)), JSON.stringify(entry.name));
  }
  const localMethod = local.getUint16(8, true), localFlags = local.getUint16(6, true);
  if (localMethod !== entry.method) throw mismatch('method', localMethod, entry.method);
  if ((localFlags & (ENCRYPTED | DESCRIPTOR)) !== (entry.flags & (ENCRYPTED | DESCRIPTOR))) throw mismatch('flags', `0x${localFlags.toString(16)}`, `0x${entry.flags.toString(16)}`);
  let end = dataOffset + entry.size;
  if (end > source.size) throw new CheckpointError(`${where}: data ends at byte ${end} but the file has ${source.size} (truncated file?)`);
  if (entry.flags & DESCRIPTOR) {
    // CRC-32 and sizes after the data, with or without a signature, 4 or 8 bytes a size.
    const d = view(await source.read(end, Math.min(24, source.size - end)));
    let p = d.byteLength >= 4 && d.getUint32(0, true) === DESCRIPTOR_SIG ? 4 : 0;
    if (p + 12 > d.byteLength) throw new CheckpointError(`${where}: the data descriptor at byte ${end} runs past the end of the file (truncated file?)`);
    const crc = d.getUint32(p, true);
    if (crc !== entry.crc32) throw mismatch('(in its data descriptor) CRC-32', hex(crc), hex(entry.crc32));
    const narrow = d.getUint32(p + 4, true) === entry.size && d.getUint32(p + 8, true) === entry.size;
    const wide = p + 20 <= d.byteLength && d.getUint32(p + 4, true) + d.getUint32(p + 8, true) * 2 ** 32 === entry.size &&
      d.getUint32(p + 12, true) + d.getUint32(p + 16, true) * 2 ** 32 === entry.size;
    if (!narrow && !wide) throw mismatch('(in its data descriptor) size', d.getUint32(p + 8, true), entry.size);
    p += narrow ? 12 : 20;
    end += p;
  } else {
    const crc = local.getUint32(14, true);
    if (crc !== entry.crc32) throw mismatch('CRC-32', hex(crc), hex(entry.crc32));
    const c32 = local.getUint32(18, true), s32 = local.getUint32(22, true), FF = 0xffffffff;
    const wide = zip64Values(local, 30 + nameLength, extraLength, [s32 === FF, c32 === FF], where);
    const size = s32 === FF ? wide.shift()! : s32, compressed = c32 === FF ? wide.shift()! : c32;
    if (size !== entry.size || compressed !== entry.compressedSize) throw mismatch('size', size, entry.size);
  }
  return { dataOffset, end };
}

const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;

/**
 * Every entry's data, each local header checked against the central directory, and the
 * layout checked: entries lie one after another before the central directory, none
 * overlapping another (so a changed offset or length cannot make one entry read another's
 * bytes). Only the headers are read; the CRC-32 of the data is checked when it is read.
 */
export async function readZipArchive(source: ByteSource): Promise<Map<string, ZipData>> {
  const { entries, centralOffset } = await readZipDirectory(source);
  const located: (ZipData & { end: number })[] = [];
  for (const entry of entries.values()) {
    const { dataOffset, end } = await zipEntryData(source, entry);
    located.push({ ...entry, dataOffset, end });
  }
  located.sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  located.forEach((e, i) => {
    const next = located[i + 1];
    const limit = next ? next.localHeaderOffset : centralOffset;
    if (e.end > limit) {
      throw new CheckpointError(`${source.name}: zip entry "${e.name}" (bytes ${e.localHeaderOffset}..${e.end}) runs into ` +
        `${next ? `entry "${next.name}" at byte ${limit}` : `the central directory at byte ${limit}`}: the archive is damaged`);
    }
  });
  return new Map(located.map(({ end: _end, ...e }) => [e.name, e]));
}
