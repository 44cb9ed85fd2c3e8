// The damped solve of mask tuning (docs/method.md step 4) at the sizes BERT-base gives it (heads:
// 12; neurons: up to 3,072): float64 Cholesky on the CPU against the blocked solve whose
// trailing updates run on the device (src/linalg/blocked.ts). GFLOP/s of a Cholesky's k³/3.
import { solveDampedBlocked } from '../src/linalg/blocked.js';
import { solveDamped } from '../src/linalg/cholesky.js';
import type { Runtime } from '../src/runtime/runtime.js';
import type { Job } from './measure.js';

/** A damped Gram matrix like tuning's: G = AᵀA / rows over a random A, plus a ridge. */
function system(k: number): { g: Float64Array; r: Float64Array } {
  const rows = 64;
  const A = Float64Array.from({ length: rows * k }, () => Math.random() * 2 - 1);
  const g = new Float64Array(k * k);
  for (let t = 0; t < rows; t++) {
    for (let i = 0; i < k; i++) {
      const a = A[t * k + i]! / rows;
      for (let j = 0; j <= i; j++) g[i * k + j] += a * A[t * k + j]!;
    }
  }
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) g[j * k + i] = g[i * k + j]!;
  return { g, r: Float64Array.from({ length: k }, () => Math.random()) };
}

export function solveJobs(rt: Runtime, adapter: string, sizes = [256, 768, 1536, 3072]): Job[] {
  return sizes.flatMap((k) => {
    const { g, r } = system(k);
    const base = { shape: `k=${k}`, implementation: 'wgprune', host: 'node' as const, unit: 'GFLOP/s' as const, work: k ** 3 / 3 / 1e9 };
    const check = (x: Float64Array) => {
      for (let i = 0; i < k; i++) {
        let s = x[i]! - r[i]!;
        for (let j = 0; j < k; j++) s += g[i * k + j]! * x[j]!;
        if (!(Math.abs(s) < 1e-8)) throw new Error(`residual ${s} in row ${i}`);
      }
    };
    return [
      { ...base, benchmark: 'solve: float64 Cholesky on the CPU', adapter: 'CPU (JavaScript, 1 thread)',
        verify: async () => check(solveDamped(g, r, k, 1)), run: async () => { solveDamped(g, r, k, 1); } },
      { ...base, benchmark: 'solve: blocked, updates on the device', adapter,
        note: 'block 256; float32 panels and trailing updates on the device, float64 Schur complement and refinement on the CPU',
        verify: async () => check((await solveDampedBlocked(rt, g, r, k, 1)).x),
        run: async () => { await solveDampedBlocked(rt, g, r, k, 1); } },
    ];
  });
}
