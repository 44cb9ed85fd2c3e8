// The safetensors format as src/io/safetensors.ts reads it: an 8-byte little-endian header
// length, the JSON header (padded with spaces to a multiple of 8 bytes, so that the data
// section is aligned), then each tensor's bytes. Tensors are written in name order and the
// header has no timestamps, so the same tensors give the same bytes.
import { CheckpointError } from './errors.js';

export interface Float32Tensor {
  shape: readonly number[];
  data: Float32Array;
}

/** Little-endian bytes of a float32 array (a view when the platform is little-endian, as every WebGPU platform is). */
function bytesOf(a: Float32Array): Uint8Array {
  const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return view;
  const out = new Uint8Array(a.byteLength), dv = new DataView(out.buffer);
  a.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  return out;
}

/**
 * A safetensors file of float32 tensors as a list of byte chunks (header first), to be
 * written one after another or wrapped in a Blob. `metadata` goes in `__metadata__`.
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, Float32Tensor>, metadata?: Record<string, string>): Uint8Array[] {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new CheckpointError(`encodeSafetensors: tensor "${name}" has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + text.length);
  const dv = new DataView(head.buffer);
  dv.setUint32(0, text.length % 2 ** 32, true);
  dv.setUint32(4, Math.floor(text.length / 2 ** 32), true);
  head.set(text, 8);
  return [head, ...names.map((n) => bytesOf(tensors.get(n)!.data))];
}
