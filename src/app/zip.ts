// A store-only zip writer (no compression: float32 weights barely compress) for the pruned
// model folder the app offers as a download. Entries carry their CRC-32 and UTF-8 names; the
// date is fixed (1980-01-01), so the same files give the same bytes. Archives are limited to
// 4 GiB less a little (no ZIP64), far above a pruned BERT-large.
import { crc32 } from '../io/crc32.js';

const LOCAL = 0x04034b50, CENTRAL = 0x02014b50, END = 0x06054b50;
/** General-purpose flag bit 11: names are UTF-8. */
const UTF8 = 1 << 11;
/** DOS date of 1980-01-01 (day 1, month 1, year 0), time 00:00:00. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1, DOS_TIME = 0;

/**
 * The files (name → byte chunks, as `prunedModelFiles` makes them) as one zip archive, each
 * under `folder/` when a folder name is given. Returns the archive's parts, ready for `new Blob(parts)`.
 */
export function zipStore(files: ReadonlyMap<string, readonly Uint8Array[]>, folder = ''): Uint8Array[] {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [], central: Uint8Array[] = [];
  let offset = 0;
  const prefix = folder ? `${folder.replace(/\/+$/, '')}/` : '';
  for (const [file, chunks] of files) {
    const name = enc.encode(prefix + file);
    let size = 0, crc = 0;
    for (const c of chunks) { size += c.length; crc = crc32(c, crc); }
    if (offset + size + 30 + name.length > 0xfffffffe) throw new RangeError(`zipStore: the archive would pass 4 GiB at ${file}; ZIP64 is not written`);
    const local = new Uint8Array(30 + name.length), l = new DataView(local.buffer);
    l.setUint32(0, LOCAL, true);
    l.setUint16(4, 20, true); // version needed: 2.0
    l.setUint16(6, UTF8, true);
    l.setUint16(8, 0, true); // stored
    l.setUint16(10, DOS_TIME, true);
    l.setUint16(12, DOS_DATE, true);
    l.setUint32(14, crc, true);
    l.setUint32(18, size, true);
    l.setUint32(22, size, true);
    l.setUint16(26, name.length, true);
    l.setUint16(28, 0, true);
    local.set(name, 30);
    const entry = new Uint8Array(46 + name.length), c = new DataView(entry.buffer);
    c.setUint32(0, CENTRAL, true);
    c.setUint16(4, 20, true); // made by: MS-DOS, 2.0
    c.setUint16(6, 20, true);
    c.setUint16(8, UTF8, true);
    c.setUint16(10, 0, true);
    c.setUint16(12, DOS_TIME, true);
    c.setUint16(14, DOS_DATE, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, size, true);
    c.setUint32(24, size, true);
    c.setUint16(28, name.length, true);
    // extra 30, comment 32, disk 34, internal attributes 36, external 38: all 0
    c.setUint32(42, offset, true);
    entry.set(name, 46);
    central.push(entry);
    parts.push(local, ...chunks);
    offset += local.length + size;
  }
  const centralSize = central.reduce((s, e) => s + e.length, 0);
  if (files.size > 0xffff || offset + centralSize > 0xfffffffe) throw new RangeError('zipStore: too many files or bytes for a zip without ZIP64');
  const end = new Uint8Array(22), e = new DataView(end.buffer);
  e.setUint32(0, END, true);
  e.setUint16(8, files.size, true);
  e.setUint16(10, files.size, true);
  e.setUint32(12, centralSize, true);
  e.setUint32(16, offset, true);
  return [...parts, ...central, end];
}
