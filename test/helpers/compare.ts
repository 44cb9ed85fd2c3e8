import { seed } from './random.js';

/**
 * Fails unless |actual - expected| <= atol + rtol * scale at every index, where scale is
 * `scales[i]` when given (for sums: the sum of the terms' magnitudes, which bounds float32
 * rounding error better than |expected| does near cancellation) or |expected|.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  { rtol = 1e-6, atol = 0, scales }: { rtol?: number; atol?: number; scales?: ArrayLike<number> } = {},
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length}, expected ${expected.length} (seed ${seed})`);
  }
  let worst = -1, worstRatio = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    const tol = atol + rtol * Math.abs(scales ? scales[i]! : e);
    const err = Math.abs(a - e);
    if (!(err <= tol)) {
      // NaN means an element was never written (outputs are poisoned with NaN bits).
      if (Number.isNaN(a) || err / tol > worstRatio || worst < 0) {
        worst = i;
        worstRatio = Number.isNaN(a) ? Infinity : err / tol;
        if (Number.isNaN(a)) break;
      }
    }
  }
  if (worst >= 0) {
    throw new Error(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
      `(tolerance atol ${atol}, rtol ${rtol}; ${worstRatio === Infinity ? 'unwritten or NaN' : `${worstRatio.toFixed(1)}x over`}; seed ${seed})`);
  }
}

/** The message of the error `fn` throws, or a failure if it does not throw. */
export function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error, none was thrown');
}

export async function rejected(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error, none was thrown');
}
