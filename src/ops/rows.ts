import { powerOfTwoWorkgroup } from '../../shaders/common.js';
import type { RowVariant } from '../../shaders/rows.js';
import { LimitError } from '../runtime/errors.js';
import type { Bound, Runtime } from '../runtime/runtime.js';
import { maxThreadsPerLaunch } from './launch.js';

// What the ops over rows (LayerNorm, softmax, the losses) share on the launching side.

/** The row-wise kernels' variant on this runtime: the widest power-of-two workgroup (up to `cap`), and the adapter's row mapping. */
export function rowVariant(rt: Runtime, cap = 256): RowVariant {
  return { size: powerOfTwoWorkgroup(rt.limits.maxComputeInvocationsPerWorkgroup, cap), rowPerThread: rt.tuning.rowPerThread };
}

/** Rows per launch: bounded by one binding of `cols`-long rows and by the dispatch grid (a row per invocation at most). */
export function rowsPerLaunch(rt: Runtime, cols: number, op: string, what = 'values'): number {
  const n = Math.min(Math.floor(rt.maxBindingElements('f32') / cols), maxThreadsPerLaunch(rt, 1));
  if (n < 1) throw new LimitError(`${op}: one row of ${cols} ${what} is larger than one storage binding`);
  return n;
}

/**
 * Whether a row-wise launch can read and write vec4s: rows a multiple of 4 long, and every
 * row-long binding (and gamma, beta) starting on a vec4. A tensor viewed at an element
 * offset that is not a multiple of 4 takes the scalar kernel.
 */
export function vec4Rows(cols: number, bound: Bound[]): boolean {
  return cols % 4 === 0 && bound.every((b) => b.shift % 4 === 0);
}
