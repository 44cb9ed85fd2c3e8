import { kernelFamily, read, write, type ScalarType } from './kernel.js';

export const permuteWorkgroupSize = 256;
/** Ranks up to this many dimensions; each axis's size and stride is a uniform. */
export const maxPermuteRank = 8;

type Axis = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;
/** Per axis d of the output: its size `outDim<d>` and the input's stride along it `inStride<d>`. */
type AxisFields<T> = Record<`outDim${Axis}` | `inStride${Axis}`, T>;

const axes = Array.from({ length: maxPermuteRank }, (_, d) => d);

/** The per-axis uniforms of a launch, from the output shape and the input strides in output-axis order (unused axes: size 1, stride 0). */
export function permuteAxes(outDims: readonly number[], inStrides: readonly number[]): AxisFields<number> {
  return Object.fromEntries(axes.flatMap((d) => [[`outDim${d}`, outDims[d] ?? 1], [`inStride${d}`, inStrides[d] ?? 0]])) as AxisFields<number>;
}

/**
 * out[coords] = x[permuted coords]: each thread decomposes its output index by the output
 * shape and walks the input by the input's strides taken in output-axis order. `outStart`
 * is this launch's first output element and `inLo` the first input element bound.
 */
export const permuteKernel = kernelFamily('permute', (dtype: ScalarType) => ({
  name: `permute[${dtype}]`,
  bindings: { x: read(dtype), out: write(dtype) },
  uniforms: {
    count: 'u32', rank: 'u32', outStart: 'u32', inLo: 'u32',
    ...(Object.fromEntries(axes.flatMap((d) => [[`outDim${d}`, 'u32'], [`inStride${d}`, 'u32']])) as AxisFields<'u32'>),
  },
  workgroupSize: permuteWorkgroupSize,
  dispatch: (u) => Math.ceil(u.count / permuteWorkgroupSize),
  code: /* wgsl */ `
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * ${permuteWorkgroupSize}u + lid;
  if (i >= p.count) { return; }
  var rest = p.outStart + i;
  var src = 0u;
  // From the last axis to the first (uniform branches: the rank is the launch's).
  ${[...axes].reverse().map((d) => `if (p.rank > ${d}u) { src += (rest % p.outDim${d}) * p.inStride${d}; rest /= p.outDim${d}; }`).join('\n  ')}
  out[p.outShift + i] = x[p.xShift + src - p.inLo];
}
`,
}));
