import { seed } from './random.js';

/**
 * Checks an analytic float64 gradient of a scalar function against central differences,
 * at every coordinate: |g - fd| <= atol + rtol * |fd|. With h = 1e-5 the difference's own
 * error (h² f''' and rounding ~1e-16/h) stays far below the tolerance for smooth f.
 */
export function checkGradient(
  loss: (x: Float64Array) => number, x: ArrayLike<number>, grad: ArrayLike<number>, what: string,
  { h = 1e-5, rtol = 1e-6, atol = 1e-8 } = {},
): void {
  const p = Float64Array.from(x);
  for (let i = 0; i < p.length; i++) {
    const orig = p[i]!;
    p[i] = orig + h;
    const up = loss(p);
    p[i] = orig - h;
    const down = loss(p);
    p[i] = orig;
    const fd = (up - down) / (2 * h);
    if (!(Math.abs(grad[i]! - fd) <= atol + rtol * Math.abs(fd))) {
      throw new Error(`${what}: gradient ${i} is ${grad[i]}, central difference ${fd} (seed ${seed})`);
    }
  }
}

/** Σ w_i f_i: a random linear read-out that makes any output a scalar loss. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
