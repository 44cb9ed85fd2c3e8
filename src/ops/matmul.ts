import { matmulGeneralKernel, matmulSubgroupKernel, matmulTextureKernel } from '../../shaders/matmul.js';
import type { Workgroups } from '../../shaders/kernel.js';
import { DTypeError, LimitError, ShapeError } from '../runtime/errors.js';
import { shapeString, type Tensor } from '../runtime/tensor.js';
import type { Runtime } from '../runtime/runtime.js';
import { packMatrices } from './texture.js';

/** Rows of C per workgroup and vec4 columns per lane of the subgroup kernels (see shaders/matmul.ts). */
const subgroupRows = 16, subgroupCols4 = 2;
export const textureRows = 16, textureCols4 = 1;

/**
 * The subgroup size when the subgroup kernel may run: the adapter has subgroups of one
 * fixed size (min = max, so a workgroup of that many invocations is one subgroup), and it
 * is a CPU-like SIMD width (4..8). Wider subgroups (GPUs: 32, 64) would unroll 4x that
 * many k-steps, and on GPUs the register-tiled general kernel is the sound choice.
 */
function subgroupLanes(rt: Runtime): number | null {
  if (!rt.features.subgroups) return null;
  const info = (rt.device as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
  const lanes = info?.subgroupMinSize;
  if (!lanes || lanes !== info.subgroupMaxSize || lanes < 4 || lanes > 8) return null;
  if (lanes > rt.limits.maxComputeInvocationsPerWorkgroup || lanes > rt.limits.maxComputeWorkgroupSizeX) return null;
  return lanes;
}

/** Where a launch's grid starts (shaders/matmul.ts): its first batch, tile row and tile column. */
interface GridStart { batchStart: number; tileRowStart: number; tileColStart: number }
const gridStart: GridStart = { batchStart: 0, tileRowStart: 0, tileColStart: 0 };

/** Which kernel a matmul runs; `Tuning.matmulKernel` can ask for one (tests force each). */
export type MatmulKernel = 'texture' | 'subgroup' | 'general';

/** What picks a matmul's kernel: one matrix's M, K, N, the transposes, several matrices or one, f16 operands. */
export interface MatmulShape { M: number; N: number; K: number; transA: boolean; transB: boolean; halves: boolean; batched: boolean }

/**
 * The key of a shape's class in `Tuning.matmulChoices` (src/ops/autotune.ts): M rounded up
 * to a power of two, K, N, the transposes, batched or not, f16 operands; e.g.
 * "1024x256x1024 B^T", "32x32x32 B^T batched".
 */
export function matmulShapeClass(s: MatmulShape): string {
  let m = 1;
  while (m < s.M) m *= 2;
  return `${m}x${s.K}x${s.N}${s.transA ? ' A^T' : ''}${s.transB ? ' B^T' : ''}${s.batched ? ' batched' : ''}${s.halves ? ' f16' : ''}`;
}

/**
 * The kernel `want` asks for (by default `Tuning.matmulKernel`, else the tuned choice for
 * the shape's class, else the texture kernel) where the adapter and shape allow it; a kernel
 * that cannot take the shape passes to the next. On CPU adapters (one subgroup size of 4..8)
 * the texture kernel, else the subgroup kernel from storage, else the general one:
 * - texture: A with at least 8 rows (fewer would leave most of its 16-row tile clamped
 *   duplicates), K >= 1, and B's rows and texels a row within a texture's side.
 * - subgroup: A untransposed, K and N multiples of 4, at least 8 rows, f32 operands.
 */
export function chooseKernel(rt: Runtime, s: MatmulShape, want: MatmulKernel = rt.tuning.matmulKernel ?? rt.tuning.matmulChoices?.[matmulShapeClass(s)] ?? 'texture'):
  { kind: 'texture' | 'subgroup'; lanes: number } | { kind: 'general' } {
  const lanes = subgroupLanes(rt);
  const maxTex = rt.limits.maxTextureDimension2D;
  if (lanes !== null && s.M >= 8) {
    const bSides = s.transB ? [s.N, Math.ceil(s.K / 4)] : [Math.ceil(s.K / 4) * 4, Math.ceil(s.N / 4)];
    if (want === 'texture' && s.K >= 1 && Math.max(Math.ceil(s.K / 4), ...bSides) <= maxTex) return { kind: 'texture', lanes };
    if (want !== 'general' && !s.transA && !s.halves && s.K % 4 === 0 && s.N % 4 === 0) return { kind: 'subgroup', lanes };
  }
  return { kind: 'general' };
}

export interface MatmulOptions {
  /** Use Aᵀ: A is stored [..., K, M]. */
  transA?: boolean;
  /** Use Bᵀ: B is stored [..., N, K], as nn.Linear stores its weight. */
  transB?: boolean;
  /** Added to every row of C ([N]), in the same pass (nn.Linear's bias). */
  bias?: Tensor;
  /**
   * Added to C, of C's shape, in the same pass (after the bias, before GELU): a residual,
   * or the running sum of a gradient that several products feed.
   */
  addend?: Tensor;
  /** GELU on C (after the bias and addend), in the same pass. */
  gelu?: boolean;
}

/**
 * C = op(A) op(B) over a batch. A is [..., M, K] and B [..., K, N] (or transposed), with
 * equal batch dims, or B unbatched ([K, N]) and shared by every batch, as a weight is.
 * A and B are f32, or f16 where the adapter has shader-f16 (weights kept in half precision):
 * read as stored, multiplied and summed in f32; C is f32.
 * Splits the work when it passes a binding or the dispatch limit: by batches, then by
 * rows of C, then by tiles of the grid.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const transA = options.transA ?? false, transB = options.transB ?? false;
  a.check('matmul');
  b.check('matmul');
  const isFloat = (t: Tensor) => t.dtype === 'f32' || t.dtype === 'f16';
  if (!isFloat(a) || !isFloat(b)) throw new DTypeError(`matmul: needs f32 or f16 tensors, got ${a.dtype} and ${b.dtype}`);
  const aType = a.dtype as 'f32' | 'f16', bType = b.dtype as 'f32' | 'f16';
  const halves = aType === 'f16' || bType === 'f16';
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
  // A weight shared by a batch of row-major matrices is one product over all their rows:
  // [batch·M, K] x [K, N] fills the tiles that M alone (a short sentence's few tokens) leaves
  // mostly empty, and C's layout is the same.
  if (shared && !transA && batch > 1) {
    const a2 = a.reshape([batch * M, K]), b2 = bBatchDims.length ? b.reshape([bR, bC]) : b;
    if (options.addend && shapeString(options.addend.shape) !== shapeString([...batchDims, M, N])) {
      throw new ShapeError(`matmul: addend ${options.addend} is not C's shape ${shapeString([...batchDims, M, N])} f32`);
    }
    const addend2 = options.addend?.check('matmul').reshape([batch * M, N]);
    const c2 = matmul(a2, b2, { ...options, ...(addend2 ? { addend: addend2 } : {}) });
    a2.dispose();
    if (b2 !== b) b2.dispose();
    if (addend2 !== options.addend) addend2?.dispose();
    const c = c2.reshape([...batchDims, M, N]);
    c2.dispose();
    return c;
  }
  const bias = options.bias, gelu = options.gelu ?? false;
  if (bias) {
    bias.check('matmul');
    if (bias.dtype !== 'f32' || bias.size !== N) throw new ShapeError(`matmul: bias ${bias} does not have the ${N} f32 values of C's columns`);
  }
  const addend = options.addend;
  if (addend) {
    addend.check('matmul');
    if (addend.dtype !== 'f32' || shapeString(addend.shape) !== shapeString([...batchDims, M, N])) {
      throw new ShapeError(`matmul: addend ${addend} is not C's shape ${shapeString([...batchDims, M, N])} f32`);
    }
  }
  const rt = a.runtime;
  const c = rt.empty([...batchDims, M, N], 'f32');
  if (c.size === 0) return c;

  const epilogue = { bias: !!bias, addend: !!addend, gelu };
  const maxBind = rt.maxBindingElements('f32');
  const aPer = M * K, bPer = K * N, cPer = M * N;
  if (bPer > maxBind) {
    throw new LimitError(`matmul: one B matrix of ${b} (${bPer} elements) is larger than one storage binding (${maxBind}); splitting B is not supported`);
  }
  const maxDim = rt.limits.maxComputeWorkgroupsPerDimension;
  const maxTex = rt.limits.maxTextureDimension2D;
  const kernel = chooseKernel(rt, { M, N, K, transA, transB, halves, batched: batch > 1 });
  // B's texture rows per batch: N as stored for Bᵀ, else K padded to whole texels of A's rows.
  const K4x4 = Math.ceil(K / 4) * 4;
  const bTexRows = transB ? N : K4x4;

  // Rows of C (and of A) that one piece may take, and batches per piece.
  let rowsPerPiece = M;
  if (Math.max(aPer, cPer) > maxBind) {
    if (transA) throw new LimitError(`matmul: one Aᵀ matrix of ${a} is larger than one storage binding (${maxBind}); split it by rows first`);
    rowsPerPiece = Math.floor(maxBind / Math.max(K, N));
  }
  if (kernel.kind === 'texture') rowsPerPiece = Math.min(rowsPerPiece, maxTex);
  let batchesPerPiece = rowsPerPiece < M ? 1 : Math.max(1, Math.floor(maxBind / Math.max(aPer, shared ? 0 : bPer, cPer)));
  // The textures of one piece stack its batches' matrices: A's rows, and B's unless shared.
  if (kernel.kind === 'texture') batchesPerPiece = Math.max(1, Math.min(batchesPerPiece, Math.floor(maxTex / rowsPerPiece), shared ? Infinity : Math.floor(maxTex / bTexRows)));

  const bindBias = bias ? rt.bind(bias) : null;
  const packB = (b0: number, nb: number) => packMatrices(rt, b, shared ? 0 : b0 * bPer, 'matmul B', transB
    ? { batches: shared ? 1 : nb, rows: N, cols: K, ld: K, batchStride: bPer, trans: false }
    : { batches: shared ? 1 : nb, rows: K, cols: N, ld: N, batchStride: bPer, trans: false, height: K4x4 });
  const sharedTexB = kernel.kind === 'texture' && shared ? packB(0, 1) : null;

  for (let b0 = 0; b0 < batch; b0 += batchesPerPiece) {
    const nb = Math.min(batchesPerPiece, batch - b0);
    for (let m0 = 0; m0 < M; m0 += rowsPerPiece) {
      const rows = Math.min(rowsPerPiece, M - m0);
      const bindC = rt.bind(c, b0 * cPer + m0 * N, nb === 1 ? rows * N : nb * cPer);
      const bindAddend = addend ? rt.bind(addend, b0 * cPer + m0 * N, nb === 1 ? rows * N : nb * cPer) : null;
      const outputs = { ...(bindBias ? { bias: bindBias } : {}), ...(bindAddend ? { addend: bindAddend } : {}), c: bindC };
      const epilogueShifts = [bindC.shift, bindBias?.shift ?? 0, bindAddend?.shift ?? 0];
      const shape = { M: rows, N, K, cBatchStride: cPer };
      // One piece's launches: the uniforms of a grid starting at `at`, and the grid of one batch's tiles.
      let launch: (at: GridStart, workgroups: Workgroups) => void, tiles: Workgroups;
      if (kernel.kind === 'texture') {
        const a2 = packMatrices(rt, a, b0 * aPer + (transA ? m0 : m0 * K), 'matmul A', {
          batches: nb, rows, cols: K, ld: transA ? M : K, batchStride: aPer, trans: transA,
        });
        const b2 = sharedTexB ?? packB(b0, nb);
        const vec4C = N % 4 === 0 && epilogueShifts.every((x) => x % 4 === 0);
        const k = matmulTextureKernel({ lanes: kernel.lanes, rows: textureRows, cols4: textureCols4, transB, vec4C, ...epilogue });
        const u = { ...shape, bBatchRows: shared ? 0 : bTexRows, ldc: N, cHeads: 1, cHeadStride: 0 };
        launch = (at, wg) => rt.launch(k, { a: a2, b: b2, ...outputs }, { ...u, ...at }, wg);
        tiles = k.dispatch({ ...u, ...gridStart });
      } else {
        const bindA = transA ? rt.bind(a, b0 * aPer, nb * aPer) : rt.bind(a, b0 * aPer + m0 * K, nb === 1 ? rows * K : nb * aPer);
        const bindB = shared ? rt.bind(b, 0, bPer) : rt.bind(b, b0 * bPer, nb * bPer);
        const strides = { aBatchStride: aPer, bBatchStride: shared ? 0 : bPer };
        // The vec4 subgroup kernel reads A, B and C as vec4s: each piece's shifts must be multiples of 4.
        const aligned = bindA.shift % 4 === 0 && bindB.shift % 4 === 0 && epilogueShifts.every((x) => x % 4 === 0);
        if (kernel.kind === 'subgroup' && aligned) {
          const k = matmulSubgroupKernel({ lanes: kernel.lanes, rows: subgroupRows, cols4: subgroupCols4, transB, ...epilogue });
          const u = { ...shape, ...strides };
          launch = (at, wg) => rt.launch(k, { a: bindA, b: bindB, ...outputs }, { ...u, ...at }, wg);
          tiles = k.dispatch({ ...u, ...gridStart });
        } else {
          const k = matmulGeneralKernel({ transA, transB, aType, bType, ...epilogue });
          const u = { ...shape, ...strides, lda: transA ? M : K, aRowOffset: transA ? m0 : 0 };
          launch = (at, wg) => rt.launch(k, { a: bindA, b: bindB, ...outputs }, { ...u, ...at }, wg);
          tiles = k.dispatch({ ...u, ...gridStart });
        }
      }
      // The kernels' dispatch rule gives one batch's tiles; the batches go on z, and the
      // grid splits where a dimension passes the device's limit.
      const [tilesX, tilesY] = tiles as [number, number, number];
      for (let z0 = 0; z0 < nb; z0 += maxDim) {
        for (let y0 = 0; y0 < tilesY; y0 += maxDim) {
          for (let x0 = 0; x0 < tilesX; x0 += maxDim) {
            launch({ batchStart: z0, tileRowStart: y0, tileColStart: x0 },
              [Math.min(maxDim, tilesX - x0), Math.min(maxDim, tilesY - y0), Math.min(maxDim, nb - z0)]);
          }
        }
      }
    }
  }
  return c;
}
