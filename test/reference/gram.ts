import type { Random } from '../helpers/random.js';

/** Float64 AᵀA and Aᵀb from an explicit A [rows, k], with Σ|terms| for tolerances. */
export function normalRef(A: Float64Array, b: Float64Array, k: number) {
  const rows = b.length;
  const ata = new Float64Array(k * k), ataScale = new Float64Array(k * k), atb = new Float64Array(k), atbScale = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < k; i++) {
      const ai = A[r * k + i]!;
      atb[i] += ai * b[r]!;
      atbScale[i] += Math.abs(ai * b[r]!);
      for (let j = 0; j < k; j++) { ata[i * k + j] += ai * A[r * k + j]!; ataScale[i * k + j] += Math.abs(ai * A[r * k + j]!); }
    }
  }
  return { ata, ataScale, atb, atbScale };
}

/** max |(G + damping I) x - r| / max |r|, in float64. */
export function dampedResidual(g: Float64Array, r: Float64Array, x: Float64Array, k: number, damping: number): number {
  let worst = 0, scale = 0;
  for (let i = 0; i < k; i++) {
    let s = damping * x[i]! - r[i]!;
    for (let j = 0; j < k; j++) s += g[i * k + j]! * x[j]!;
    worst = Math.max(worst, Math.abs(s));
    scale = Math.max(scale, Math.abs(r[i]!));
  }
  return worst / scale;
}

/** A Gram matrix whose columns differ in scale by `spread` decades: condition number up to ~10^(2 spread) / damping. */
export function gramSystem(rand: Random, k: number, rows: number, spread: number) {
  const A = rand.uniform(rows * k);
  for (let r = 0; r < rows; r++) for (let i = 0; i < k; i++) A[r * k + i]! *= 10 ** (spread * (i / k));
  return normalRef(A, rand.uniform(rows), k);
}

