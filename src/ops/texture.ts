import { packTextureSource, packWorkgroupSize } from '../../shaders/texture.js';
import { Uniforms, type Program } from '../runtime/program.js';
import { maxThreadsPerLaunch, spans } from './launch.js';
import type { Bound, Runtime } from '../runtime/runtime.js';

const packPrograms = {
  f32: { name: 'packTexture', source: packTextureSource('f32'), bindings: ['read', 'storageTexture'] } as Program,
  f16: { name: 'packTexture[f16]', source: packTextureSource('f16'), bindings: ['read', 'storageTexture'] } as Program,
};

export interface PackedMatrices {
  /** Matrices in the bound buffer, each [rows, cols] (or stored [cols, rows] when `trans`). */
  batches: number;
  rows: number;
  cols: number;
  /** Elements between rows as stored (between columns' starts when `trans`). */
  ld: number;
  /** Elements between one matrix and the next. */
  batchStride: number;
  trans: boolean;
  /** The source's storage type (default f32). */
  dtype?: 'f32' | 'f16';
  /** Texture rows per matrix, `rows` or more (the extra rows are zero). Default `rows`. */
  height?: number;
}

/** Texels a side of the texture `packMatrices` fills: [ceil(cols / 4), batches * height]. */
export function packedSize(m: Pick<PackedMatrices, 'batches' | 'rows' | 'cols' | 'height'>): [number, number] {
  return [Math.ceil(m.cols / 4), m.batches * (m.height ?? m.rows)];
}

/**
 * Records the packing of matrices from `src` into the runtime's scratch texture `slot`
 * (shaders/texture.ts has the layout) and returns the texture's binding. The caller keeps
 * the packed size within maxTextureDimension2D (`packedSize`).
 */
export function packMatrices(rt: Runtime, src: Bound, slot: string, m: PackedMatrices): Bound {
  const [width, height] = packedSize(m);
  const view = rt.scratchTexture(slot, width, height);
  const texels = width * height;
  for (const [start, count] of spans(texels, maxThreadsPerLaunch(rt, packWorkgroupSize))) {
    const u = new Uniforms().u32(m.rows, m.cols, m.ld, src.shift, m.batchStride, width, start + count, m.trans ? 1 : 0, m.height ?? m.rows, start);
    rt.dispatch(packPrograms[m.dtype ?? 'f32'], [src, { binding: view, shift: 0 }], u.bytes(), Math.ceil(count / packWorkgroupSize));
  }
  return { binding: view, shift: 0 };
}
