import type { Runtime } from '../runtime/runtime.js';
import { solveDampedBlocked } from './blocked.js';
import { solveDamped } from './cholesky.js';

/**
 * From this k on, the blocked solve with device updates is used. Measured on lavapipe
 * (2 cores, `npm run bench -- --solve`): k = 768 ties (166 ms CPU, 170 ms blocked); k = 1,536
 * 1.65 s against 0.69 s; k = 3,072 12.1 s against 2.8 s. On a GPU the device part is far
 * quicker, so the same threshold errs toward the CPU there.
 */
export const blockedSolveFrom = 1024;

/**
 * Solves (G + damping I) x = r (G symmetric positive semi-definite, k x k, row-major) to
 * float64 accuracy: the float64 Cholesky on the CPU for small k (every head system, and
 * neuron systems under `blockedSolveFrom`), the blocked solve with device matmuls above.
 */
export async function solveNormalEquations(
  rt: Runtime, g: ArrayLike<number>, r: ArrayLike<number>, k: number, damping: number,
): Promise<Float64Array> {
  if (k < blockedSolveFrom) return solveDamped(g, r, k, damping);
  return (await solveDampedBlocked(rt, g, r, k, damping)).x;
}
