// A minimal zip reader for torch.save archives: the central directory (ZIP64 included),
// and the data range of STORED entries. Compressed and encrypted entries are refused:
// torch writes every entry stored, its data aligned to 64 bytes.
import { CheckpointError, UnsupportedCheckpointError } from './errors.js';
import { decodeUtf8, type ByteSource } from './source.js';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50, ZIP64_LOCATOR_SIG = 0x07064b50, ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50, LOCAL_SIG = 0x04034b50;
const METHODS: Record<number, string> = { 8: 'deflate', 9: 'deflate64', 12: 'bzip2', 14: 'lzma', 93: 'zstd', 95: 'xz' };

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

/** The archive's entries by name, from the central directory (local headers are not read). */
export async function readZipDirectory(source: ByteSource): Promise<Map<string, ZipEntry>> {
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
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // ZIP64: a locator just before the record points at the 64-bit record.
    const locAt = tailStart + eocd - 20;
    if (locAt < 0) throw new CheckpointError(`${file}: ZIP64 archive without its locator record`);
    const loc = view(await source.read(locAt, 20));
    if (loc.getUint32(0, true) !== ZIP64_LOCATOR_SIG) throw new CheckpointError(`${file}: ZIP64 values in the end record, but no ZIP64 locator before it`);
    const recAt = u64(loc, 8, file);
    if (recAt + 56 > source.size) throw new CheckpointError(`${file}: ZIP64 end record at byte ${recAt} lies past the end of the file (${source.size} bytes)`);
    const rec = view(await source.read(recAt, 56));
    if (rec.getUint32(0, true) !== ZIP64_EOCD_SIG) throw new CheckpointError(`${file}: no ZIP64 end record at byte ${recAt}`);
    count = u64(rec, 32, file);
    cdSize = u64(rec, 40, file);
    cdOffset = u64(rec, 48, file);
  }
  if (cdOffset + cdSize > source.size) {
    throw new CheckpointError(`${file}: the zip central directory (bytes ${cdOffset}..${cdOffset + cdSize}) lies past the end of the file (${source.size} bytes; truncated file?)`);
  }
  const cd = await source.read(cdOffset, cdSize);
  const dv = view(cd);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cdSize || dv.getUint32(at, true) !== CENTRAL_SIG) throw new CheckpointError(`${file}: zip central directory entry ${i} of ${count} is damaged`);
    const flags = dv.getUint16(at + 8, true), method = dv.getUint16(at + 10, true);
    let compressedSize = dv.getUint32(at + 20, true), size = dv.getUint32(at + 24, true);
    const nameLength = dv.getUint16(at + 28, true), extraLength = dv.getUint16(at + 30, true), commentLength = dv.getUint16(at + 32, true);
    let localHeaderOffset = dv.getUint32(at + 42, true);
    if (at + 46 + nameLength + extraLength + commentLength > cdSize) throw new CheckpointError(`${file}: zip central directory entry ${i} of ${count} runs past the directory`);
    const name = decodeUtf8(cd.subarray(at + 46, at + 46 + nameLength), `${file}: zip entry name`);
    // ZIP64 extended information: the 64-bit values of the fields saturated at 0xffffffff, in this order.
    let x = at + 46 + nameLength;
    const extraEnd = x + extraLength;
    while (x + 4 <= extraEnd) {
      const id = dv.getUint16(x, true), len = dv.getUint16(x + 2, true);
      if (id === 0x0001) {
        let p = x + 4;
        const take = () => {
          if (p + 8 > x + 4 + len) throw new CheckpointError(`${file}: zip entry "${name}": ZIP64 extra field too short`);
          const v = u64(dv, p, `${file}: zip entry "${name}"`);
          p += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      x += 4 + len;
    }
    entries.set(name, { name, method, flags, compressedSize, size, localHeaderOffset });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The byte offset of a STORED entry's data in the archive, after checking its local header. */
export async function zipEntryDataOffset(source: ByteSource, entry: ZipEntry): Promise<number> {
  const where = `${source.name}: zip entry "${entry.name}"`;
  if (entry.flags & 1) throw new UnsupportedCheckpointError(`${where} is encrypted; wgprune reads only unencrypted archives as torch.save writes them`);
  if (entry.method !== 0) {
    throw new UnsupportedCheckpointError(`${where} is compressed (method ${entry.method}${METHODS[entry.method] ? `, ${METHODS[entry.method]}` : ''}); ` +
      'wgprune reads only stored (uncompressed) entries as torch.save writes them: load and torch.save the state dict again, or convert it to safetensors');
  }
  if (entry.compressedSize !== entry.size) throw new CheckpointError(`${where}: stored entry with compressed size ${entry.compressedSize} != size ${entry.size}`);
  if (entry.localHeaderOffset + 30 > source.size) throw new CheckpointError(`${where}: local header at byte ${entry.localHeaderOffset} lies past the end of the file (${source.size} bytes; truncated file?)`);
  const local = view(await source.read(entry.localHeaderOffset, 30));
  if (local.getUint32(0, true) !== LOCAL_SIG) throw new CheckpointError(`${where}: no local header at byte ${entry.localHeaderOffset}: the archive is damaged`);
  const dataOffset = entry.localHeaderOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
  if (dataOffset + entry.size > source.size) {
    throw new CheckpointError(`${where}: data ends at byte ${dataOffset + entry.size} but the file has ${source.size} (truncated file?)`);
  }
  return dataOffset;
}
