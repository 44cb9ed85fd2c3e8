import { WgpruneError } from '../runtime/errors.js';

/** The system is not positive definite even after damping (a pivot fell to <= 0). */
export class NotPositiveDefiniteError extends WgpruneError {}

/** Σ_{t<n} u[a + t] v[b + t], four independent accumulators so the multiply-adds overlap. */
export function dot(u: Float64Array, a: number, v: Float64Array, b: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t = 0;
  for (; t + 3 < n; t += 4) {
    s0 += u[a + t]! * v[b + t]!;
    s1 += u[a + t + 1]! * v[b + t + 1]!;
    s2 += u[a + t + 2]! * v[b + t + 2]!;
    s3 += u[a + t + 3]! * v[b + t + 3]!;
  }
  for (; t < n; t++) s0 += u[a + t]! * v[b + t]!;
  return (s0 + s1) + (s2 + s3);
}

/** Throws unless g is k x k and r has k values. */
export function checkSystem(op: string, g: ArrayLike<number>, r: ArrayLike<number>, k: number): void {
  if (g.length !== k * k || r.length !== k) throw new WgpruneError(`${op}: expected a ${k} x ${k} matrix and ${k} values, got ${g.length} and ${r.length}`);
}

/** The Cholesky factor L of G + damping I: lower triangle, row-major, k x k. */
export function choleskyFactor(g: ArrayLike<number>, k: number, damping: number): Float64Array {
  // Each row's inner products read two contiguous rows.
  const L = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    const ri = i * k;
    for (let j = 0; j <= i; j++) {
      const rj = j * k;
      const s = g[ri + j]! + (i === j ? damping : 0) - dot(L, ri, L, rj, j);
      if (i === j) {
        if (!(s > 0)) throw new NotPositiveDefiniteError(`solveDamped: pivot ${i} is ${s}; the matrix is not positive definite with damping ${damping}`);
        L[ri + i] = Math.sqrt(s);
      } else {
        L[ri + j] = s / L[rj + j]!;
      }
    }
  }
  return L;
}

/** Solves L Lᵀ x = r in place of a copy of r, reading only L's lower triangle. */
export function choleskySolve(L: Float64Array, r: ArrayLike<number>, k: number): Float64Array {
  const x = Float64Array.from(r);
  for (let i = 0; i < k; i++) {
    x[i] = (x[i]! - dot(L, i * k, x, 0, i)) / L[i * k + i]!;
  }
  for (let i = k - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let t = i + 1; t < k; t++) s -= L[t * k + i]! * x[t]!;
    x[i] = s / L[i * k + i]!;
  }
  return x;
}

/**
 * Solves (G + damping I) x = r for a symmetric positive semi-definite G (k x k, row-major),
 * in float64 on the CPU, by Cholesky factorisation: the normal equations of the mask
 * tuning step (docs/method.md step 4), where damping pulls the solution toward 0 (the ridge
 * toward m = 1 when solving for δ = m - 1).
 *
 * A row-oriented Cholesky with contiguous inner products: k³/6 multiply-adds, ~0.6 GFLOP/s
 * in JS at k = 3,072 (16 s), where rows no longer fit in cache. For large k,
 * `solveDampedBlocked` (blocked.ts) moves the bulk to the device; `solveNormalEquations`
 * picks between them.
 */
export function solveDamped(g: ArrayLike<number>, r: ArrayLike<number>, k: number, damping: number): Float64Array {
  checkSystem('solveDamped', g, r, k);
  return choleskySolve(choleskyFactor(g, k, damping), r, k);
}
