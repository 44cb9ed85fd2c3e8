import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';

export interface MatmulVariant {
  transA: boolean;
  transB: boolean;
}

/** Threads per workgroup side; each thread owns a 4x4 block of C, so a workgroup a 32x32 tile. */
export const matmulThreads = 8;
export const matmulTile = matmulThreads * 4;

/**
 * C[b] = op(A[b]) op(B[b]), float32. Each thread keeps a 4x4 block of C in registers and
 * walks K once, so every A and B load feeds four multiply-adds. Out-of-range rows and
 * columns are clamped on load (their results are not stored), which keeps the inner loop
 * free of branches. Tile offsets and batch start let a launch be split when the grid is
 * larger than the device allows in one dimension.
 *
 * Layouts: A is [M, K] (lda = K) or, transposed, [K, M'] (lda = M', the full row count,
 * with `aRowOffset` the first row of this piece); B is [K, N] or, transposed, [N, K].
 */
export function matmulSource(v: MatmulVariant): string {
  return wgsl`
struct Params {
  M: u32, N: u32, K: u32, lda: u32,
  aShift: u32, bShift: u32, cShift: u32, aRowOffset: u32,
  aBatchStride: u32, bBatchStride: u32, cBatchStride: u32, batchStart: u32,
  tileColStart: u32, tileRowStart: u32,
}
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn loadA(base: u32, m: u32, k: u32) -> f32 {
#if ${v.transA}
  return a[base + k * p.lda + m + p.aRowOffset];
#else
  return a[base + m * p.lda + k];
#endif
}

fn loadB(base: u32, k: u32, n: u32) -> f32 {
#if ${v.transB}
  return b[base + n * p.K + k];
#else
  return b[base + k * p.N + n];
#endif
}

@compute @workgroup_size(${matmulThreads}, ${matmulThreads})
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
  let cBase = p.cShift + batch * p.cBatchStride;
  let acc = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + i;
    if (row < p.M) {
      for (var j = 0u; j < 4u; j++) {
        if (col0 + j < p.N) { c[cBase + row * p.N + col0 + j] = acc[i][j]; }
      }
    }
  }
}
`;
}
