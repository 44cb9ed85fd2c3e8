import { packTexelsPerThread, packTextureKernel, packWorkgroupSize } from '../../shaders/texture.js';
import { maxThreadsPerLaunch, spans } from './launch.js';
import { bytesPerElement } from '../runtime/dtype.js';
import { LimitError } from '../runtime/errors.js';
import { textureFormat } from '../runtime/pipelines.js';
import type { Bound, OpResources, Runtime } from '../runtime/runtime.js';
import type { Tensor } from '../runtime/tensor.js';

/**
 * The textures the texture matmul packs its operands into, one per slot ('matmul A',
 * 'matmul B'), kept on the runtime between launches (`rt.resources`: counted in
 * stats().textureBytes, freed by trim and destroy). A slot grows in steps of 64 texels a
 * side, up to the device's limit; the queue's order makes reuse safe, since every launch
 * and copy sees the writes of the ones recorded before it. Its contents are whatever the
 * last user left there.
 */
class ScratchTextures implements OpResources {
  private readonly slots = new Map<string, GPUTexture>();

  constructor(private readonly device: GPUDevice) {}

  /** Slot `slot`'s texture, at least `width` x `height` texels; a smaller one is replaced. */
  get(rt: Runtime, slot: string, width: number, height: number): GPUTexture {
    const max = rt.limits.maxTextureDimension2D;
    if (width > max || height > max) {
      throw new LimitError(`scratch texture ${width} x ${height} passes the device's ${max} texels a side; the op must split it`);
    }
    let t = this.slots.get(slot);
    if (!t || t.width < width || t.height < height) {
      const grow = (need: number, had: number) => Math.min(max, Math.max(had, Math.ceil(need / 64) * 64));
      const w = grow(width, t?.width ?? 0), h = grow(height, t?.height ?? 0);
      // Launches recorded but not yet submitted may still read the old one.
      if (t) rt.retire(t);
      t = this.device.createTexture({
        size: [w, h], format: textureFormat, label: `scratch ${slot}`,
        usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
      });
      this.slots.set(slot, t);
    }
    return t;
  }

  bytes(): number {
    let total = 0;
    for (const t of this.slots.values()) total += t.width * t.height * 16;
    return total;
  }

  free(): void {
    for (const t of this.slots.values()) t.destroy();
    this.slots.clear();
  }
}

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
  /**
   * Matrices in groups of `heads` (default 1): matrix bi starts at (bi / heads) ·
   * batchStride + (bi % heads) · headStride, the heads of a [batch, seq, heads · headDim]
   * tensor read in place as [batch · heads, seq, headDim] (ld = heads · headDim).
   */
  heads?: number;
  headStride?: number;
}

/** Texels a side of the texture `packMatrices` fills: [ceil(cols / 4), batches * height]. */
export function packedSize(m: Pick<PackedMatrices, 'batches' | 'rows' | 'cols' | 'height'>): [number, number] {
  return [Math.ceil(m.cols / 4), m.batches * (m.height ?? m.rows)];
}

/**
 * Records the packing of matrices of `t`, the first starting at element `start`, into this
 * op's texture `slot` on the runtime, and returns the texture's binding. Where the rows are
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
  const texture = rt.resources('matmul textures', (device) => new ScratchTextures(device)).get(rt, slot, width, height);
  const bytes = bytesPerElement[t.dtype];
  const heads = m.heads ?? 1, headStride = heads > 1 ? m.headStride ?? 0 : 0;
  const copyable = heads === 1 && t.dtype === 'f32' && !m.trans && m.cols % 4 === 0 && (m.height ?? m.rows) === m.rows &&
    (m.batches === 1 || m.batchStride === m.rows * m.ld) && rt.canCopyToTexture((t.offset + start) * bytes, m.ld * bytes);
  if (copyable) {
    rt.copyToTexture(t, start, m.ld * bytes, texture, width, height);
  } else {
    const last = m.trans ? (m.cols - 1) * m.ld + m.rows : (m.rows - 1) * m.ld + m.cols;
    // The matrix that starts last: the last one, or the last head of the group before it.
    const lastBase = Math.max(...[m.batches - 1, Math.floor((m.batches - 1) / heads) * heads - 1].filter((bi) => bi >= 0)
      .map((bi) => Math.floor(bi / heads) * m.batchStride + (bi % heads) * headStride));
    const src = rt.bind(t, start, lastBase + last);
    const vec4 = t.dtype === 'f32' && !m.trans && [m.cols, m.ld, m.batchStride, headStride, src.shift].every((v) => v % 4 === 0);
    const kernel = packTextureKernel({ srcType: t.dtype === 'f16' ? 'f16' : 'f32', vec4 });
    const w = vec4 ? 4 : 1;
    const dst = { binding: texture.createView(), shift: 0, texture: 'storageTexture' as const };
    const chunks = Math.ceil(width / packTexelsPerThread);
    for (const [first, count] of spans(height, Math.floor(maxThreadsPerLaunch(rt, packWorkgroupSize) / chunks))) {
      rt.launch(kernel, { src, dst }, {
        rows: m.rows, cols: m.cols, ld: m.ld / w, batchStride: m.batchStride / w, heads, headStride: headStride / w, width, height: m.height ?? m.rows,
        trans: m.trans ? 1 : 0, startRow: first, endRow: first + count,
      });
    }
  }
  return { binding: texture.createView(), shift: 0, texture: 'texture' };
}
