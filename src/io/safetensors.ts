// safetensors: an 8-byte little-endian header length N, N bytes of JSON
// ({ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {..} }, offsets
// relative to the data section that follows), then the data. Everything is checked
// before any tensor is read, as the reference implementation does: the tensors tile the
// data section exactly (no gap, no overlap, nothing after the last). The format has no
// checksum: damage inside the data is seen only when it makes values non-finite.
import { dtypeBytes, isWeightDType, numel } from './dtype.js';
import { CheckpointError } from './errors.js';
import { decodeUtf8, type ByteSource } from './source.js';
import type { TensorLocation, WeightsFile } from './tensor-info.js';

/**
 * Headers of the models we run are kilobytes (BERT-large: 400 tensors, 50 KB); the reference
 * implementation allows 100 MB, but parsing a header of a million empty tensors takes
 * seconds and gigabytes. So: at most 16 MB and 100,000 objects (counted as '{' bytes
 * before parsing).
 */
const MAX_HEADER_BYTES = 16 << 20, MAX_HEADER_OBJECTS = 100_000;

export async function readSafetensors(source: ByteSource): Promise<WeightsFile> {
  const file = source.name;
  if (source.size < 8) throw new CheckpointError(`${file}: ${source.size} bytes, too short for a safetensors file (an 8-byte header length comes first)`);
  const lenBytes = await source.read(0, 8);
  const dv = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8);
  const headerLength = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
  if (headerLength > source.size - 8) {
    throw new CheckpointError(`${file}: header length ${headerLength} is larger than the file (${source.size} bytes): not a safetensors file, or truncated`);
  }
  if (headerLength > MAX_HEADER_BYTES) throw new CheckpointError(`${file}: header length ${headerLength} is implausibly large (over ${MAX_HEADER_BYTES} bytes)`);
  const headerBytes = await source.read(8, headerLength);
  let objects = 0;
  for (let i = 0; i < headerBytes.length; i++) if (headerBytes[i] === 0x7b) objects++;
  if (objects > MAX_HEADER_OBJECTS) throw new CheckpointError(`${file}: header holds over ${MAX_HEADER_OBJECTS} objects (${objects} '{'); no model wgprune runs has that many tensors`);
  const text = decodeUtf8(headerBytes, `${file}: header`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${file}: header is not valid JSON (${(e as Error).message}): not a safetensors file, or corrupted`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new CheckpointError(`${file}: header is not a JSON object`);
  }
  const dataStart = 8 + headerLength, dataSize = source.size - dataStart;
  const tensors = new Map<string, TensorLocation>();
  let metadata: Record<string, string> | undefined;
  const ranges: { name: string; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || Object.values(entry).some((v) => typeof v !== 'string')) {
        throw new CheckpointError(`${file}: __metadata__ must be an object of strings`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const where = `${file}: tensor "${name}"`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new CheckpointError(`${where}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!isWeightDType(dtype)) {
      throw new CheckpointError(`${where}: unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(dtypeBytes).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new CheckpointError(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new CheckpointError(`${where}: data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) throw new CheckpointError(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataSize) {
      throw new CheckpointError(`${where}: data ends at byte ${dataStart + end} but the file has ${source.size} (truncated file?)`);
    }
    const expected = numel(shape as number[]) * dtypeBytes[dtype];
    if (end - begin !== expected) {
      throw new CheckpointError(`${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${expected}`);
    }
    ranges.push({ name, begin, end });
    tensors.set(name, { name, dtype, shape: shape as number[], file, source, byteOffset: dataStart + begin, byteLength: end - begin });
  }
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let reach: (typeof ranges)[number] | undefined; // the range reaching furthest so far
  for (const cur of ranges) {
    if (cur.end === cur.begin) continue; // empty tensors take no bytes
    if (reach && cur.begin < reach.end) {
      throw new CheckpointError(`${file}: tensor "${cur.name}" (data bytes ${cur.begin}..${cur.end}) overlaps tensor "${reach.name}" (${reach.begin}..${reach.end})`);
    }
    const gapFrom = reach ? reach.end : 0;
    if (cur.begin > gapFrom) {
      throw new CheckpointError(`${file}: data bytes ${gapFrom}..${cur.begin} belong to no tensor (before tensor "${cur.name}"); ` +
        'a safetensors file\'s tensors fill its data section: the header was changed, or the file is damaged');
    }
    reach = cur;
  }
  const used = reach ? reach.end : 0;
  if (used !== dataSize) {
    throw new CheckpointError(`${file}: ${dataSize - used} bytes after the last tensor's data belong to no tensor (the data section has ${dataSize}, ` +
      'its tensors fill the first ' + used + '): the header was changed, or the file is damaged');
  }
  return metadata ? { file, format: 'safetensors', tensors, metadata } : { file, format: 'safetensors', tensors };
}
