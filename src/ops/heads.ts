import { matmulTextureKernel } from '../../shaders/matmul.js';
import { ShapeError } from '../runtime/errors.js';
import type { Tensor } from '../runtime/tensor.js';
import { chooseKernel, matmul, textureCols4, textureRows } from './matmul.js';
import { packMatrices, type PackedMatrices } from './texture.js';
import { permute } from './transpose.js';

/**
 * A [batch, seq, heads · d] tensor seen as batch · heads matrices [seq, d], one a head, in
 * the layout the linear layers write (token-major). Attention's products take their
 * operands this way, so no permuting copy goes into heads and back.
 */
export interface Heads {
  t: Tensor;
  heads: number;
}

export function asHeads(t: Tensor, heads: number): Heads {
  if (t.rank !== 3 || !Number.isInteger(heads) || heads < 1 || t.shape[2]! % heads !== 0) {
    throw new ShapeError(`heads: ${t} is not [batch, seq, ${heads} · headDim]`);
  }
  return { t, heads };
}

/** A product's operand: the heads of a tensor, or a tensor of batch · heads matrices ([batch, heads, r, c]). */
type Operand = Tensor | Heads;

const isHeads = (x: Operand): x is Heads => !('shape' in x);

/** [batch, heads, rows, cols] of an operand as stored (before any transpose). */
function dimsOf(x: Operand, op: string): [number, number, number, number] {
  if (isHeads(x)) {
    const [b, s, w] = x.t.shape as [number, number, number];
    return [b, x.heads, s, w / x.heads];
  }
  if (x.rank !== 4) throw new ShapeError(`${op}: ${x} is not [batch, heads, rows, cols]`);
  return x.shape as [number, number, number, number];
}

/** The heads as a [batch, heads, seq, d] tensor (a permuting copy), for the kernels that cannot read them in place. */
function materialize(x: Operand): Tensor {
  if (!isHeads(x)) return x;
  const [b, h, s, d] = dimsOf(x, 'heads');
  const split = x.t.reshape([b, s, h, d]);
  const out = permute(split, [0, 2, 1, 3]);
  split.dispose();
  return out;
}

/**
 * op(A) op(B) for each of batch · heads pairs of matrices, where A and B are heads of
 * [batch, seq, heads · d] tensors (asHeads) or [batch, heads, r, c] tensors. C is [batch,
 * heads, M, N], or with `merge` [batch, M, heads · N]: the heads merged back in place, as
 * attention's context and its gradients go into the output projection. On the texture
 * kernel (CPU adapters) the heads are read and written where they lie: packing them into
 * the kernel's textures reads them strided, and C's store is strided (shaders/matmul.ts);
 * where another kernel runs, or a sequence's heads do not fit one texture, the heads are
 * permuted into place first and C after (the same numbers).
 */
export function headsMatmul(a: Operand, b: Operand, { transA = false, transB = false, merge = false } = {}): Tensor {
  const op = 'headsMatmul';
  for (const x of [a, b]) (isHeads(x) ? x.t : x).check(op);
  const [batch, heads, aR, aC] = dimsOf(a, op);
  const [bBatch, bHeads, bR, bC] = dimsOf(b, op);
  const M = transA ? aC : aR, K = transA ? aR : aC, N = transB ? bR : bC, Kb = transB ? bC : bR;
  if (batch !== bBatch || heads !== bHeads || K !== Kb) {
    throw new ShapeError(`${op}: ${isHeads(a) ? `heads of ${a.t}` : a}${transA ? 'ᵀ' : ''} and ${isHeads(b) ? `heads of ${b.t}` : b}${transB ? 'ᵀ' : ''} do not multiply (batch ${batch}/${bBatch}, heads ${heads}/${bHeads}, K ${K}/${Kb})`);
  }
  for (const x of [a, b]) if ((isHeads(x) ? x.t : x).dtype !== 'f32') throw new ShapeError(`${op}: needs f32 operands`);
  const rt = (isHeads(a) ? a.t : a).runtime;
  // Short sequences too (M < 8, which matmul leaves to the general kernel): reading the
  // heads in place saves two permuting copies, more than a tile of mostly clamped rows costs.
  const kernel = chooseKernel(rt, { M: Math.max(M, 8), N, K, transA, transB, halves: false, batched: true });
  const maxTex = rt.limits.maxTextureDimension2D, maxBind = rt.maxBindingElements('f32');
  const K4x4 = Math.ceil(K / 4) * 4, bTexRows = transB ? N : K4x4;
  const perSeq = Math.max(heads * aR * aC, heads * bR * bC, heads * M * N);
  const seqPerPiece = Math.min(batch, Math.floor(maxTex / (heads * Math.max(M, bTexRows))), Math.floor(maxBind / perSeq));
  const inPlace = kernel.kind === 'texture' && !(isHeads(a) && transA) && seqPerPiece >= 1 && Math.ceil(K / 4) <= maxTex && Math.ceil(N / 4) <= maxTex;
  if (!inPlace) {
    return rt.tidy(() => {
      const c = matmul(materialize(a), materialize(b), { transA, transB });
      return merge ? permute(c, [0, 2, 1, 3]).reshape([batch, M, heads * N]) : c;
    });
  }

  const c = rt.empty(merge ? [batch, M, heads * N] : [batch, heads, M, N]);
  if (c.size === 0) return c;
  // One operand's matrices for sequences s0 .. s0 + ns into its texture.
  const pack = (x: Operand, slot: string, s0: number, ns: number, m: Omit<PackedMatrices, 'batches' | 'ld' | 'batchStride'>) => {
    const [, , r, cols] = dimsOf(x, op);
    return isHeads(x)
      ? packMatrices(rt, x.t, s0 * r * heads * cols, slot, { ...m, batches: ns * heads, ld: heads * cols, batchStride: r * heads * cols, heads, headStride: cols })
      : packMatrices(rt, x, s0 * heads * r * cols, slot, { ...m, batches: ns * heads, ld: cols, batchStride: r * cols });
  };
  const maxDim = rt.limits.maxComputeWorkgroupsPerDimension;
  const tileCols = 4 * textureCols4 * kernel.lanes;
  const tilesX = Math.ceil(N / tileCols), tilesY = Math.ceil(M / textureRows);
  for (let s0 = 0; s0 < batch; s0 += seqPerPiece) {
    const ns = Math.min(seqPerPiece, batch - s0);
    const texA = pack(a, 'matmul A', s0, ns, transA ? { rows: M, cols: K, trans: true } : { rows: M, cols: K, trans: false });
    const texB = pack(b, 'matmul B', s0, ns, transB ? { rows: N, cols: K, trans: false } : { rows: K, cols: N, trans: false, height: K4x4 });
    const cPerSeq = heads * M * N;
    const bindC = rt.bind(c, s0 * cPerSeq, ns * cPerSeq);
    const vec4C = N % 4 === 0 && bindC.shift % 4 === 0;
    const k = matmulTextureKernel({ lanes: kernel.lanes, rows: textureRows, cols4: textureCols4, transB, vec4C });
    const layout = merge
      ? { cBatchStride: cPerSeq, cHeads: heads, cHeadStride: N, ldc: heads * N }
      : { cBatchStride: M * N, cHeads: 1, cHeadStride: 0, ldc: N };
    const u = { M, N, K, bBatchRows: bTexRows, ...layout };
    const z = ns * heads;
    for (let z0 = 0; z0 < z; z0 += maxDim) {
      for (let y0 = 0; y0 < tilesY; y0 += maxDim) {
        for (let x0 = 0; x0 < tilesX; x0 += maxDim) {
          rt.launch(k, { a: texA, b: texB, c: bindC }, { ...u, batchStart: z0, tileRowStart: y0, tileColStart: x0 },
            [Math.min(maxDim, tilesX - x0), Math.min(maxDim, tilesY - y0), Math.min(maxDim, z - z0)]);
        }
      }
    }
  }
  return c;
}
