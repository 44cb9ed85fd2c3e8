import { mapKernel } from './common.js';

/**
 * erfc with fractional error under 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit),
 * since WGSL has no erf. GELU is written through erfc, not 1 + erf, so that its small
 * negative tail keeps its relative precision.
 */
const erfc = /* wgsl */ `
fn erfcApprox(z: T) -> T {
  let a = abs(z);
  let t = 1.0 / (1.0 + 0.5 * a);
  let r = t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return select(2.0 - r, r, z >= T(0.0));
}
`;

/** `fn gelu(x: T) -> T` for kernels that fuse it (matmul's epilogue); T is f32 or vec4f. */
export function geluFunction(T: 'f32' | 'vec4f'): string {
  return `${erfc.replace(/\bT\b/g, T)}
fn gelu(x: ${T}) -> ${T} { return 0.5 * x * erfcApprox(-x * 0.70710678118654752); }
`;
}

/** Exact (erf) GELU as BERT uses: 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2). */
export const geluForwardKernel = mapKernel('geluForward', ['x'], '0.5 * x * erfcApprox(-x * 0.70710678118654752)', { helpers: erfc });

/** dGELU/dx = Φ(x) + x φ(x), times the upstream gradient. */
export const geluBackwardKernel = mapKernel('geluBackward', ['x', 'dy'],
  'dy * (0.5 * erfcApprox(-x * 0.70710678118654752) + x * 0.39894228040143268 * exp(-0.5 * x * x))',
  { helpers: erfc });

/**
 * tanh as sign(x) (1 - e) / (1 + e) with e = exp(-2|x|), which never overflows; near
 * zero, where 1 - e cancels, its Taylor series to x^9 (|x| < 0.2: error < 1e-9).
 */
const tanh = /* wgsl */ `
fn tanhStable(x: T) -> T {
  let a = abs(x);
  let x2 = x * x;
  let series = x * (1.0 + x2 * (-0.33333333333 + x2 * (0.13333333333 + x2 * (-0.05396825397 + x2 * 0.02186948854))));
  let e = exp(-2.0 * a);
  return select(sign(x) * (1.0 - e) / (1.0 + e), series, a < T(0.2));
}
`;

export const tanhForwardKernel = mapKernel('tanhForward', ['x'], 'tanhStable(x)', { helpers: tanh });

/** From the forward output y: d tanh = (1 - y²) dy. */
export const tanhBackwardKernel = mapKernel('tanhBackward', ['y', 'dy'], 'dy * (1.0 - y * y)');

/** ReLU, as DistilBERT's classification head uses; its gradient passes where x > 0. */
export const reluForwardKernel = mapKernel('reluForward', ['x'], 'max(x, T(0.0))');
export const reluBackwardKernel = mapKernel('reluBackward', ['x', 'dy'], 'select(T(0.0), dy, x > T(0.0))');
