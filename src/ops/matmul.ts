import { matmulSource, matmulThreads } from '../../shaders/matmul.js';
import { DTypeError, LimitError, ShapeError } from '../runtime/errors.js';
import { Uniforms } from '../runtime/program.js';
import { shapeString, type Tensor } from '../runtime/tensor.js';
import { programFor } from './launch.js';

export interface MatmulOptions {
  /** Use Aᵀ: A is stored [..., K, M]. */
  transA?: boolean;
  /** Use Bᵀ: B is stored [..., N, K], as nn.Linear stores its weight. */
  transB?: boolean;
}

/**
 * C = op(A) op(B) over a batch. A is [..., M, K] and B [..., K, N] (or transposed), with
 * equal batch dims, or B unbatched ([K, N]) and shared by every batch, as a weight is.
 * Splits the work when it passes a binding or the dispatch limit: by batches, then by
 * rows of C, then by tiles of the grid.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const transA = options.transA ?? false, transB = options.transB ?? false;
  a.check('matmul');
  b.check('matmul');
  if (a.dtype !== 'f32' || b.dtype !== 'f32') throw new DTypeError(`matmul: needs f32 tensors, got ${a.dtype} and ${b.dtype}`);
  if (a.rank < 2 || b.rank < 2) throw new ShapeError(`matmul: operands need at least two axes, got ${a} and ${b}`);
  const [aR, aC] = a.shape.slice(-2) as [number, number];
  const [bR, bC] = b.shape.slice(-2) as [number, number];
  const M = transA ? aC : aR, K = transA ? aR : aC;
  const Kb = transB ? bC : bR, N = transB ? bR : bC;
  if (K !== Kb) {
    throw new ShapeError(`matmul: inner dimensions differ: ${shapeString(a.shape)}${transA ? 'ᵀ' : ''} x ${shapeString(b.shape)}${transB ? 'ᵀ' : ''} (${K} vs ${Kb})`);
  }
  const batchDims = a.shape.slice(0, -2);
  const bBatchDims = b.shape.slice(0, -2);
  const batch = batchDims.reduce((p, d) => p * d, 1);
  const bBatch = bBatchDims.reduce((p, d) => p * d, 1);
  const shared = bBatchDims.length === 0 || (bBatch === 1 && batch !== 1);
  if (!shared && shapeString(bBatchDims) !== shapeString(batchDims)) {
    throw new ShapeError(`matmul: batch dims differ: ${shapeString(a.shape)} and ${shapeString(b.shape)}`);
  }
  const rt = a.runtime;
  const c = rt.empty([...batchDims, M, N], 'f32');
  if (c.size === 0) return c;

  const program = programFor(`matmul:${transA}:${transB}`, () => ({
    name: `matmul[f32${transA ? ',Aᵀ' : ''}${transB ? ',Bᵀ' : ''}]`,
    source: matmulSource({ transA, transB }),
    bindings: ['read', 'read', 'write'],
  }));
  const maxBind = rt.maxBindingElements('f32');
  const aPer = M * K, bPer = K * N, cPer = M * N;
  if (bPer > maxBind) {
    throw new LimitError(`matmul: one B matrix of ${b} (${bPer} elements) is larger than one storage binding (${maxBind}); splitting B is not supported`);
  }
  const maxDim = rt.limits.maxComputeWorkgroupsPerDimension;
  const tile = matmulThreads * 4;

  // Rows of C (and of A) that one piece may take.
  let rowsPerPiece = M;
  if (Math.max(aPer, cPer) > maxBind) {
    if (transA) throw new LimitError(`matmul: one Aᵀ matrix of ${a} is larger than one storage binding (${maxBind}); split it by rows first`);
    rowsPerPiece = Math.floor(maxBind / Math.max(K, N));
  }
  const batchesPerPiece = rowsPerPiece < M ? 1 : Math.max(1, Math.floor(maxBind / Math.max(aPer, shared ? 0 : bPer, cPer)));

  for (let b0 = 0; b0 < batch; b0 += batchesPerPiece) {
    const nb = Math.min(batchesPerPiece, batch - b0);
    for (let m0 = 0; m0 < M; m0 += rowsPerPiece) {
      const rows = Math.min(rowsPerPiece, M - m0);
      const bindA = transA ? rt.bind(a, b0 * aPer, nb * aPer) : rt.bind(a, b0 * aPer + m0 * K, nb === 1 ? rows * K : nb * aPer);
      const bindB = shared ? rt.bind(b, 0, bPer) : rt.bind(b, b0 * bPer, nb * bPer);
      const bindC = rt.bind(c, b0 * cPer + m0 * N, nb === 1 ? rows * N : nb * cPer);
      const tilesX = Math.ceil(N / tile), tilesY = Math.ceil(rows / tile);
      // The grid itself splits when a dimension passes the device's limit.
      for (let z0 = 0; z0 < nb; z0 += maxDim) {
        for (let y0 = 0; y0 < tilesY; y0 += maxDim) {
          for (let x0 = 0; x0 < tilesX; x0 += maxDim) {
            const u = new Uniforms().u32(
              rows, N, K, transA ? M : K,
              bindA.shift, bindB.shift, bindC.shift, transA ? m0 : 0,
              aPer, shared ? 0 : bPer, cPer, z0,
              x0, y0,
            );
            rt.dispatch(program, [bindA, bindB, bindC], u.bytes(),
              [Math.min(maxDim, tilesX - x0), Math.min(maxDim, tilesY - y0), Math.min(maxDim, nb - z0)]);
          }
        }
      }
    }
  }
  return c;
}
