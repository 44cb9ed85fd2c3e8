import { DTypeError } from './errors.js';

export type DType = 'f32' | 'f16' | 'i32' | 'u32';

export const bytesPerElement: Record<DType, number> = { f32: 4, f16: 2, i32: 4, u32: 4 };

/** The typed array a dtype reads back as. f16 reads back widened to float32. */
export type HostArray = Float32Array | Int32Array | Uint32Array;

export function hostArrayFor(dtype: DType, length: number): HostArray {
  switch (dtype) {
    case 'f32': case 'f16': return new Float32Array(length);
    case 'i32': return new Int32Array(length);
    case 'u32': return new Uint32Array(length);
  }
}

export function checkDType(value: unknown): DType {
  if (value === 'f32' || value === 'f16' || value === 'i32' || value === 'u32') return value;
  throw new DTypeError(`unknown dtype ${JSON.stringify(value)}: expected f32, f16, i32 or u32`);
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'f32' || dtype === 'f16';
}

/** IEEE half from float32, round to nearest even; used only for uploads. */
export function toHalfBits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
