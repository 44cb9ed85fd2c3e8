import type { DType } from '../src/runtime/dtype.js';
import { enables, flatWorkgroup } from './common.js';

export const permuteWorkgroupSize = 256;
/** Ranks up to this many dimensions; sizes and strides travel as two vec4u each. */
export const maxPermuteRank = 8;

/**
 * out[coords] = x[permuted coords]: each thread decomposes its output index by the output
 * shape and walks the input by the input's strides taken in output-axis order.
 */
export function permuteSource(dtype: DType): string {
  return /* wgsl */ `${enables(dtype)}
struct Params {
  count: u32, rank: u32, outStart: u32, inLo: u32,
  inShift: u32, outShift: u32, pad0: u32, pad1: u32,
  outDims: array<vec4u, 2>,
  inStrides: array<vec4u, 2>,
}
@group(0) @binding(0) var<storage, read> x: array<${dtype}>;
@group(0) @binding(1) var<storage, read_write> out: array<${dtype}>;
@group(0) @binding(2) var<uniform> params: Params;
${flatWorkgroup}
@compute @workgroup_size(${permuteWorkgroupSize})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * ${permuteWorkgroupSize}u + lid;
  if (i >= params.count) { return; }
  var rest = params.outStart + i;
  var src = 0u;
  for (var d = i32(params.rank) - 1; d >= 0; d--) {
    let dim = params.outDims[d / 4][d % 4];
    src += (rest % dim) * params.inStrides[d / 4][d % 4];
    rest /= dim;
  }
  out[params.outShift + i] = x[params.inShift + src - params.inLo];
}
`;
}
