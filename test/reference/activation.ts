/** Float64 GELU and tanh with their derivatives. */

/** erf to ~1e-13: its Taylor series below 3, erfc's continued fraction above. */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = a, sum = a;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  return Math.sign(x) * (1 - erfcLarge(a));
}

/** erfc(a) for a >= 3, by Lentz's continued fraction. */
function erfcLarge(a: number): number {
  // erfc(a) = exp(-a²)/sqrt(pi) * 1/(a + 1/2/(a + 1/(a + 3/2/(a + 2/(a + ...)))))
  let f = a, c = a, d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = a + an * d;
    d = 1 / d;
    c = a + an / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
}

export function erfc(x: number): number {
  return x >= 3 ? erfcLarge(x) : 1 - erf(x);
}

export const gelu = (x: number): number => 0.5 * x * erfc(-x / Math.SQRT2);
export const geluGrad = (x: number): number => 0.5 * erfc(-x / Math.SQRT2) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
export const tanhGrad = (y: number): number => 1 - y * y;
