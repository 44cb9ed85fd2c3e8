import { UnsupportedCheckpointError } from './errors.js';

/** Element types a checkpoint can hold, with safetensors' names. */
export type WeightDType =
  | 'F64' | 'F32' | 'F16' | 'BF16' | 'F8_E4M3' | 'F8_E5M2'
  | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

export const dtypeBytes: Record<WeightDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1,
  I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

export function isWeightDType(s: unknown): s is WeightDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(dtypeBytes, s);
}

/** Element count of a shape; shapes are validated non-negative integers before this. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Little-endian F32, F16 or BF16 bytes as float32, exactly (every half and bfloat16 value
 * is a float32 value). `bytes` must be a fresh array at offset 0 (ByteSource.read gives one).
 */
export function toFloat32(bytes: Uint8Array, dtype: WeightDType, what: string): Float32Array {
  const n = bytes.length / dtypeBytes[dtype];
  switch (dtype) {
    case 'F32': {
      if (littleEndianHost && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length), out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const out = new Float32Array(n), bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = (bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16;
      return out;
    }
    case 'F16': {
      const out = new Float32Array(n), bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = halfToFloatBits(bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
      return out;
    }
    default:
      throw new UnsupportedCheckpointError(`${what}: dtype ${dtype} is not supported as weights: wgprune reads F32, F16 and BF16 (convert the checkpoint, e.g. model.float() before save_pretrained)`);
  }
}

/** IEEE binary16 bits to binary32 bits, exactly (subnormals normalised, NaN payload kept). */
function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal: shift the leading 1 into the implicit bit.
  let e = 113;
  while (!(mant & 0x400)) { mant <<= 1; e--; }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}
