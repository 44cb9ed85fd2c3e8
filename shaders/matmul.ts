import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { geluFunction } from './activation.js';
import { kernelFamily, read, texture, write, type Workgroups } from './kernel.js';

/**
 * What the kernel does to C before storing it: add a bias over columns (nn.Linear), add a
 * tensor of C's shape (`addend`: a residual, or a gradient summed over several products,
 * dx = dq Wq + dk Wk + dv Wv + ...), then GELU (BERT's FFN). Fusing them saves a pass over
 * C each, which on lavapipe costs about as much per element as reading it.
 */
export interface Epilogue {
  bias?: boolean;
  addend?: boolean;
  gelu?: boolean;
}

/** The bindings after A and B: [bias], [addend], then c, as f32 or as vec4s. */
function outputsOf(e: Epilogue, vec4: boolean) {
  return {
    ...(e.bias ? { bias: read('f32', { vec4 }) } : {}), ...(e.addend ? { addend: read('f32', { vec4 }) } : {}),
    c: write('f32', { vec4 }),
  };
}

/**
 * `fn epilogue(v, col, at) -> T`: bias at column (or vec4 column) `col`, the addend at
 * element (or vec4) `at` of C (C's layout, before its shift), then GELU.
 */
function epilogueOf(e: Epilogue, T: 'f32' | 'vec4f'): string {
  return `${e.gelu ? geluFunction(T) : ''}
fn epilogue(v: ${T}, col: u32, at: u32) -> ${T} {
  var r = v;
  ${e.bias ? 'r += bias[p.biasShift + col];' : ''}
  ${e.addend ? 'r += addend[p.addendShift + at];' : ''}
  ${e.gelu ? 'r = gelu(r);' : ''}
  return r;
}`;
}

/** The kernel's name suffix for its epilogue. */
const epilogueTag = (e: Epilogue) => `${e.bias ? ',+bias' : ''}${e.addend ? ',+addend' : ''}${e.gelu ? ',gelu' : ''}`;

/**
 * Uniforms of every matmul kernel (elements; only the bindings' shifts, filled by the
 * launch, count vec4s for vec4 bindings): this piece's rows of C (M), N and K, the
 * elements between C's matrices, and where this launch's grid starts. The op splits a grid
 * larger than the device allows in a dimension (batches on z, tiles of rows on y, of
 * columns on x) into launches that start at these offsets.
 */
const gridUniforms = {
  M: 'u32', N: 'u32', K: 'u32', cBatchStride: 'u32', batchStart: 'u32', tileRowStart: 'u32', tileColStart: 'u32',
} as const;

/**
 * The dispatch rule of a kernel whose workgroup computes `rows` x `cols` of C: one batch's
 * grid of tiles, [tiles of columns, tiles of rows, 1]. The op launches it once for each
 * batch (on z), split where a dimension passes the device's limit.
 */
const tilesOf = (rows: number, cols: number) => (u: { readonly M: number; readonly N: number }): Workgroups =>
  [Math.ceil(u.N / cols), Math.ceil(u.M / rows), 1];

export interface MatmulVariant extends Epilogue {
  transA: boolean;
  transB: boolean;
  /**
   * Storage types of A and B. f16 (the shader-f16 feature) halves what is read, as weights
   * stored in half precision are; products accumulate in f32 and C is f32.
   */
  aType: 'f32' | 'f16';
  bType: 'f32' | 'f16';
}

/** Threads per workgroup side; each thread owns a 4x4 block of C, so a workgroup a 32x32 tile. */
export const matmulThreads = 8;
export const matmulTile = matmulThreads * 4;

/**
 * The general kernel: any shape, transposes and alignment. C[b] = op(A[b]) op(B[b]),
 * float32. Each thread keeps a 4x4 block of C in registers and walks K once, so every A
 * and B load feeds four multiply-adds. Out-of-range rows and columns are clamped on load
 * (their results are not stored), which keeps the inner loop free of branches. On GPUs
 * this is a sound register-tiled kernel; on llvmpipe it runs ~3 GFLOP/s per worker CPU-second
 * (see matmulSubgroupKernel for why, and the faster path there).
 *
 * Layouts: A is [M, K] (lda = K) or, transposed, [K, M'] (lda = M', the full row count,
 * with `aRowOffset` the first row of this piece); B is [K, N] or, transposed, [N, K].
 */
export const matmulGeneralKernel = kernelFamily('matmul', (v: MatmulVariant) => ({
  name: `matmul[${v.aType === v.bType ? v.aType : `${v.aType}x${v.bType}`}${v.transA ? ',Aᵀ' : ''}${v.transB ? ',Bᵀ' : ''}${epilogueTag(v)}]`,
  bindings: { a: read(v.aType), b: read(v.bType), ...outputsOf(v, false) },
  uniforms: { ...gridUniforms, lda: 'u32', aRowOffset: 'u32', aBatchStride: 'u32', bBatchStride: 'u32' },
  workgroupSize: [matmulThreads, matmulThreads],
  dispatch: tilesOf(matmulTile, matmulTile),
  code: wgsl`
${epilogueOf(v, 'f32')}

fn loadA(base: u32, m: u32, k: u32) -> f32 {
#if ${v.transA}
  return f32(a[base + k * p.lda + m + p.aRowOffset]);
#else
  return f32(a[base + m * p.lda + k]);
#endif
}

fn loadB(base: u32, k: u32, n: u32) -> f32 {
#if ${v.transB}
  return f32(b[base + n * p.K + k]);
#else
  return f32(b[base + k * p.N + n]);
#endif
}

fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let batch = wid.z + p.batchStart;
  let row0 = ((wid.y + p.tileRowStart) * ${matmulThreads}u + lid.y) * 4u;
  let col0 = ((wid.x + p.tileColStart) * ${matmulThreads}u + lid.x) * 4u;
  if (row0 >= p.M || col0 >= p.N) { return; }
  let aBase = p.aShift + batch * p.aBatchStride;
  let bBase = p.bShift + batch * p.bBatchStride;
  let r = vec4u(row0, min(row0 + 1u, p.M - 1u), min(row0 + 2u, p.M - 1u), min(row0 + 3u, p.M - 1u));
  let cl = vec4u(col0, min(col0 + 1u, p.N - 1u), min(col0 + 2u, p.N - 1u), min(col0 + 3u, p.N - 1u));
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k = 0u; k < p.K; k++) {
    let bk = vec4f(loadB(bBase, k, cl.x), loadB(bBase, k, cl.y), loadB(bBase, k, cl.z), loadB(bBase, k, cl.w));
    acc0 += loadA(aBase, r.x, k) * bk;
    acc1 += loadA(aBase, r.y, k) * bk;
    acc2 += loadA(aBase, r.z, k) * bk;
    acc3 += loadA(aBase, r.w, k) * bk;
  }
  let cBase = batch * p.cBatchStride;
  let acc = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + i;
    if (row < p.M) {
      for (var j = 0u; j < 4u; j++) {
        if (col0 + j < p.N) { let at = cBase + row * p.N + col0 + j; c[p.cShift + at] = epilogue(acc[i][j], col0 + j, at); }
      }
    }
  }
}
`,
}));

export interface MatmulSubgroupVariant extends Epilogue {
  transB: boolean;
  /** Lanes per subgroup: the adapter's one subgroup size (min = max), also the workgroup size. */
  lanes: number;
  /** Rows of C per workgroup (every lane has all of them). A multiple of 4. */
  rows: number;
  /** vec4 columns of C per lane. */
  cols4: number;
}

export interface MatmulTextureVariant extends MatmulSubgroupVariant {
  /**
   * C (and the bias) as vec4s, for N % 4 = 0 and aligned shifts; else scalars. A scalar
   * store is a per-lane scatter on llvmpipe, as costly as a load, which matters when K is
   * small (attention's K = 64).
   */
  vec4C: boolean;
}

const range = (n: number) => [...Array(n).keys()];
const xyzw = 'xyzw';

/**
 * The vec4 subgroup kernel, for CPU adapters (llvmpipe, SwiftShader) where one workgroup of
 * `lanes` invocations is one SIMD vector, with A, B and C in storage buffers as vec4s. Needs
 * A untransposed, K % 4 = 0, N % 4 = 0 and every shift a multiple of 4 (ops/matmul.ts
 * checks); any M, N, K and batch otherwise.
 *
 * Why this shape (measured on Mesa 25.0 llvmpipe, AVX2, GALLIVM_DEBUG=asm and perf):
 * - llvmpipe turns every storage (and workgroup) load into a per-lane, per-component
 *   sequence: lane-active test, bounds check, branch, scalar load, blend. That is ~20
 *   instructions per element in the asm, even for addresses that are the same in every
 *   lane, so a plain register tile spends most of its time loading (the 4x4 kernel above:
 *   8 elements loaded per 16 multiply-adds).
 * - subgroupBroadcast with a constant lane is one extract + broadcast. So A is loaded once
 *   per subgroup: lane l loads A[row][k0+4l .. k0+4l+3] (one vec4 covers 4 k-steps of
 *   one lane), and every lane takes the values by broadcast. Only B is loaded per lane,
 *   one vec4 per 4 columns, and each B element feeds `rows` multiply-adds.
 * - Loop-carried variables cost a blend with the loop's exec mask on every write
 *   (vblendvps per accumulator update). The 4*lanes k-steps of one iteration are fully
 *   unrolled into local `let`/`var` values and the accumulators are written back once
 *   per iteration, so blends are 1/(4*lanes) of the multiply-adds.
 * - Workgroup-memory tiling (cooperative loads, barriers) did not help: workgroup loads
 *   take the same per-lane path, and barriers make llvmpipe compile a coroutine.
 * Tile 16 rows x 8 columns per lane. Measured per CPU-second of lavapipe's worker threads
 * (the 2-core machine was shared, so wall times were not usable): 3.7-4.4 GFLOP/s at the
 * BERT shapes vs 2.8-3.1 for the kernel above, 2.5 vs 2.4 on 12x128x64x128 Bᵀ
 * (scratch/matmul/op.ts); 16x4, 32x4 and 8x8 per lane were slower (scratch/matmul/k3.ts).
 *
 * B is [K, N], or transposed [N, K]; then each lane loads, per 4 k-steps, one vec4 along K
 * for each of its columns and regroups the components (free in llvmpipe's SoA registers).
 */
export const matmulSubgroupKernel = kernelFamily('matmulSubgroup', (v: MatmulSubgroupVariant) => ({
  name: `matmul[f32,vec4,subgroup${v.lanes}${v.transB ? ',Bᵀ' : ''}${epilogueTag(v)}]`,
  bindings: { a: read('f32', { vec4: true }), b: read('f32', { vec4: true }), ...outputsOf(v, true) },
  uniforms: { ...gridUniforms, aBatchStride: 'u32', bBatchStride: 'u32' },
  workgroupSize: v.lanes,
  dispatch: tilesOf(v.rows, 4 * v.cols4 * v.lanes),
  enable: ['subgroups'],
  code: subgroupCode(v, 'storage', true),
}));

/**
 * The subgroup kernel with A and B in rgba32float textures (src/ops/texture.ts packs them):
 * A as [M, K] (transposes undone), B as stored, [K, N] or with `transB` [N, K], K padded to
 * whole texels with zeros. Every load is a texel fetch, which llvmpipe does for all lanes at
 * once with no per-lane branch. Then B's loads are no longer the bottleneck and the best
 * tile is 16 rows x 4 columns a lane: measured on a quiet machine (2 cores, Mesa 25.0
 * llvmpipe, 512x768x3072): 5.4 GFLOP/s from storage (16 x 8), 13.8-14.5 from textures
 * (16 x 4); 16 x 8 ran 11.8, 8 x 4 15.2 but 10.8 at 512x768x768, 32 x 4 12.3.
 * Texture rows: A's are the rows of each batch's A in turn; B's too, `bBatchRows` rows a
 * batch (0 for a shared B): N with `transB` (a texel holds 4 k-steps of one column, and the
 * lane regroups them as the storage kernel does), else K rounded up to a multiple of 4.
 */
export const matmulTextureKernel = kernelFamily('matmulTexture', (v: MatmulTextureVariant) => ({
  name: `matmul[f32,texture,subgroup${v.lanes}${v.transB ? ',Bᵀ' : ''}${v.vec4C ? ',vec4 C' : ''}${epilogueTag(v)}]`,
  bindings: { a: texture, b: texture, ...outputsOf(v, v.vec4C) },
  uniforms: { ...gridUniforms, bBatchRows: 'u32', ldc: 'u32', cHeads: 'u32', cHeadStride: 'u32' },
  workgroupSize: v.lanes,
  dispatch: tilesOf(v.rows, 4 * v.cols4 * v.lanes),
  enable: ['subgroups'],
  code: subgroupCode(v, 'texture', v.vec4C),
}));

/** The body of both subgroup kernels, with A and B from storage or from textures. */
function subgroupCode(v: MatmulSubgroupVariant, operands: 'storage' | 'texture', vec4C: boolean): string {
  const { lanes: S, rows: R, cols4: C4 } = v;
  const rows = range(R), cols = range(C4);
  const tex = operands === 'texture';
  const transB = v.transB;
  // B as vec4 columns j (4 columns each) for k-step c of a 4-step block; `bv` loaded by loadB.
  const bAt = (c: number, j: number) =>
    transB ? `vec4f(${range(4).map((e) => `bt${j}_${e}.${xyzw[c]}`).join(', ')})` : `b${c}_${j}`;
  // A's vec4 at vec4 index `k4` of K for row i; B for the 4 k-steps from vec4 index `k4`.
  const loadA = (i: number, k4: string) => tex ? `textureLoad(a, vec2u(${k4}, aRow${i}), 0)` : `a[aRow${i} + ${k4}]`;
  const loadB = (k4: string) => tex && transB
    ? cols.flatMap((j) => range(4).map((e) => `let bt${j}_${e} = textureLoad(b, vec2u(${k4}, bCol${j}_${e}), 0);`)).join(' ')
    : tex
    ? range(4).flatMap((c) => cols.map((j) => `let b${c}_${j} = textureLoad(b, vec2u(col${j}, bRow + 4u * (${k4}) + ${c}u), 0);`)).join(' ')
    : transB
    ? cols.flatMap((j) => range(4).map((e) => `let bt${j}_${e} = b[bCol${j}_${e} + ${k4}];`)).join(' ')
    : range(4).flatMap((c) => cols.map((j) => `let b${c}_${j} = b[bBase + (4u * (${k4}) + ${c}u) * N4 + col${j}];`)).join(' ');
  // One block of 4 k-steps: a value of A for row i and step c is `aAt(i, c)`.
  const fmas = (aAt: (i: number, c: number) => string) => range(4).flatMap((c) =>
    rows.map((i) => `{ let s = vec4f(${aAt(i, c)}); ${cols.map((j) => `t${i}_${j} = fma(s, ${bAt(c, j)}, t${i}_${j});`).join(' ')} }`));
  const unrolled: string[] = [];
  for (let l = 0; l < S; l++) {
    unrolled.push(`{ ${loadB(`k4 + ${l}u`)}`);
    unrolled.push(...fmas((i, c) => `subgroupBroadcast(a${i}.${xyzw[c]}, ${l}u)`), '}');
  }
  // Where C's matrix `batch` starts and its row stride. The texture kernel may write C's
  // matrices as the heads of a [batch, seq, heads · N] tensor (cHeads > 1: matrix z at
  // (z / cHeads) · cBatchStride + (z % cHeads) · cHeadStride, rows ldc apart), which merges
  // attention's heads where the product lands instead of in a permuting copy after it.
  const cStart = tex ? '((batch / p.cHeads) * p.cBatchStride + (batch % p.cHeads) * p.cHeadStride)' : '(batch * p.cBatchStride)';
  const ldc = tex ? 'p.ldc' : 'p.N';
  const storeVec4s = `let cBase = ${cStart} / 4u;
  let ldc4 = ${ldc} / 4u;
  ${rows.map((i) => `if (row0 + ${i}u < p.M) { ${cols.map((j) => `if (colLane + ${j}u < N4) { let at = cBase + (row0 + ${i}u) * ldc4 + colLane + ${j}u; c[p.cShift + at] = epilogue(acc${i}_${j}, colLane + ${j}u, at); }`).join(' ')} }`).join('\n  ')}`;
  // C in scalars: N need not be a multiple of 4 here.
  const storeScalars = `let cBase = ${cStart};
  ${rows.map((i) => `if (row0 + ${i}u < p.M) { let cRow = cBase + (row0 + ${i}u) * ${ldc}; ${cols.map((j) => range(4).map((e) =>
    `if (4u * (colLane + ${j}u) + ${e}u < p.N) { let at = cRow + 4u * (colLane + ${j}u) + ${e}u; c[p.cShift + at] = epilogue(acc${i}_${j}.${xyzw[e]}, 4u * (colLane + ${j}u) + ${e}u, at); }`).join(' ')).join(' ')} }`).join('\n  ')}`;
  const declareT = rows.map((i) => cols.map((j) => `var t${i}_${j} = acc${i}_${j};`).join(' ')).join('\n    ');
  const storeT = rows.map((i) => cols.map((j) => `acc${i}_${j} = t${i}_${j};`).join(' ')).join('\n    ');
  return /* wgsl */ `
${epilogueOf(v, vec4C ? 'vec4f' : 'f32')}

fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lane: u32) {
  let batch = wid.z + p.batchStart;
  let K4 = (p.K + 3u) / 4u;
  let N4 = (p.N + 3u) / 4u;
  let row0 = (wid.y + p.tileRowStart) * ${R}u;
  let colLane = ((wid.x + p.tileColStart) * ${S}u + lane) * ${C4}u;
  ${tex ? '' : `let aBase = p.aShift + batch * (p.aBatchStride / 4u);
  let bBase = p.bShift + batch * (p.bBatchStride / 4u);`}
  // Rows and columns past the edge are clamped (loads stay in the matrix, stores are
  // guarded); no lane returns early, since subgroupBroadcast needs all of them.
  ${rows.map((i) => tex ? `let aRow${i} = batch * p.M + min(row0 + ${i}u, p.M - 1u);` : `let aRow${i} = aBase + min(row0 + ${i}u, p.M - 1u) * K4;`).join('\n  ')}
  ${tex ? 'let bRow = batch * p.bBatchRows;' : ''}
  ${transB
    ? cols.flatMap((j) => range(4).map((e) => tex
      ? `let bCol${j}_${e} = bRow + min(4u * (colLane + ${j}u) + ${e}u, p.N - 1u);`
      : `let bCol${j}_${e} = bBase + min(4u * (colLane + ${j}u) + ${e}u, p.N - 1u) * K4;`)).join('\n  ')
    : cols.map((j) => `let col${j} = min(colLane + ${j}u, N4 - 1u);`).join('\n  ')}
  ${rows.flatMap((i) => cols.map((j) => `var acc${i}_${j} = vec4f(0.0);`)).join(' ')}
  var k4 = 0u;
  // ${4 * S} k-steps per iteration; lane l holds A's k-steps 4l..4l+3 of each row.
  for (; k4 + ${S}u <= K4; k4 += ${S}u) {
    ${rows.map((i) => `let a${i} = ${loadA(i, 'k4 + lane')};`).join('\n    ')}
    ${declareT}
    ${unrolled.join('\n    ')}
    ${storeT}
  }
  // The last K % ${4 * S} k-steps, 4 at a time; every lane loads the A values itself.
  for (; k4 < K4; k4++) {
    ${rows.map((i) => `let a${i} = ${loadA(i, 'k4')};`).join('\n    ')}
    ${declareT}
    ${loadB('k4')}
    ${fmas((i, c) => `a${i}.${xyzw[c]}`).join('\n    ')}
    ${storeT}
  }
  ${vec4C ? storeVec4s : storeScalars}
}
`;
}
