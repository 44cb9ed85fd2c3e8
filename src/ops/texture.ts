import { packTextureSource, packWorkgroupSize } from '../../shaders/texture.js';
import { Uniforms, type Program } from '../runtime/program.js';
import { maxThreadsPerLaunch, spans } from './launch.js';
import { bytesPerElement } from '../runtime/dtype.js';
import type { Bound, Runtime } from '../runtime/runtime.js';
import type { Tensor } from '../runtime/tensor.js';

const packPrograms = {
  f32: { name: 'packTexture', source: packTextureSource('f32'), bindings: ['read', 'storageTexture'] } as Program,
  f16: { name: 'packTexture[f16]', source: packTextureSource('f16'), bindings: ['read', 'storageTexture'] } as Program,
};

export interface PackedMatrices {
  /** Matrices, each [rows, cols] (or stored [cols, rows] when `trans`). */
  batches: number;
  rows: number;
  cols: number;
  /** Elements between rows as stored (between columns' starts when `trans`). */
  ld: number;
  /** Elements between one matrix and the next. */
  batchStride: number;
  trans: boolean;
  /** Texture rows per matrix, `rows` or more (the extra rows are zero). Default `rows`. */
  height?: number;
}

/** Texels a side of the texture `packMatrices` fills: [ceil(cols / 4), batches * height]. */
export function packedSize(m: Pick<PackedMatrices, 'batches' | 'rows' | 'cols' | 'height'>): [number, number] {
  return [Math.ceil(m.cols / 4), m.batches * (m.height ?? m.rows)];
}

/**
 * Records the packing of matrices of `t`, the first starting at element `start`, into the
 * runtime's scratch texture `slot`, and returns the texture's binding. Where the rows are
 * already texels (f32, untransposed, whole texels a row, no padding rows, batches evenly
 * spaced, and rows 256 bytes apart as WebGPU's copies ask) it is one buffer→texture copy,
 * a memcpy on software adapters; otherwise the pack kernel (shaders/texture.ts), which
 * transposes, pads and widens f16. Measured on lavapipe: packing the 12 heads of a
 * 12x128x64 Q and K took ~3 ms in the kernel, more than the 12x128x64x128 product after it.
 * The caller keeps the packed size within maxTextureDimension2D (`packedSize`) and the
 * source within one binding.
 */
export function packMatrices(rt: Runtime, t: Tensor, start: number, slot: string, m: PackedMatrices): Bound {
  const [width, height] = packedSize(m);
  const texture = rt.scratchTexture(slot, width, height);
  const bytes = bytesPerElement[t.dtype];
  const copyable = t.dtype === 'f32' && !m.trans && m.cols % 4 === 0 && (m.height ?? m.rows) === m.rows &&
    (m.batches === 1 || m.batchStride === m.rows * m.ld) && rt.canCopyToTexture((t.offset + start) * bytes, m.ld * bytes);
  if (copyable) {
    rt.copyToTexture(t, start, m.ld * bytes, texture, width, height);
  } else {
    const last = m.trans ? (m.cols - 1) * m.ld + m.rows : (m.rows - 1) * m.ld + m.cols;
    const src = rt.bind(t, start, (m.batches - 1) * m.batchStride + last);
    const view = texture.createView();
    const texels = width * height;
    for (const [first, count] of spans(texels, maxThreadsPerLaunch(rt, packWorkgroupSize))) {
      const u = new Uniforms().u32(m.rows, m.cols, m.ld, src.shift, m.batchStride, width, first + count, m.trans ? 1 : 0, m.height ?? m.rows, first);
      rt.dispatch(packPrograms[t.dtype === 'f16' ? 'f16' : 'f32'], [src, { binding: view, shift: 0 }], u.bytes(), Math.ceil(count / packWorkgroupSize));
    }
  }
  return { binding: texture.createView(), shift: 0 };
}
