import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import type { DType } from '../src/runtime/dtype.js';
import { enables, flatWorkgroup } from './common.js';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

const binaryExpr: Record<BinaryOp, string> = { add: 'x + y', sub: 'x - y', mul: 'x * y', div: 'x / y' };

export const elementwiseWorkgroupSize = 256;

/**
 * out[i] = a[i] op b[(bStart + i) % bPeriod]: b broadcasts along the leading dims of a
 * when its shape is a suffix of a's. Indices carry each binding's alignment shift. The
 * vec4 variant counts everything in vec4s (see mapSource for why it matters on llvmpipe).
 */
export function binarySource(op: BinaryOp, dtype: DType, vec4 = false): string {
  const T = vec4 ? `vec4<${dtype}>` : dtype;
  return wgsl`${enables(dtype)}
struct Params { count: u32, bPeriod: u32, bStart: u32, aShift: u32, bShift: u32, outShift: u32 }
@group(0) @binding(0) var<storage, read> a: array<${T}>;
@group(0) @binding(1) var<storage, read> b: array<${T}>;
@group(0) @binding(2) var<storage, read_write> out: array<${T}>;
@group(0) @binding(3) var<uniform> params: Params;
${flatWorkgroup}
@compute @workgroup_size(${elementwiseWorkgroupSize})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * ${elementwiseWorkgroupSize}u + lid;
  if (i >= params.count) { return; }
  let x = a[params.aShift + i];
  let y = b[params.bShift + (params.bStart + i) % params.bPeriod];
  out[params.outShift + i] = ${binaryExpr[op]};
}
`;
}

/** out[i] = a[i] * alpha + beta, computed in f32. */
export function affineSource(dtype: DType): string {
  return wgsl`${enables(dtype)}
struct Params { count: u32, aShift: u32, outShift: u32, alpha: f32, beta: f32 }
@group(0) @binding(0) var<storage, read> a: array<${dtype}>;
@group(0) @binding(1) var<storage, read_write> out: array<${dtype}>;
@group(0) @binding(2) var<uniform> params: Params;
${flatWorkgroup}
@compute @workgroup_size(${elementwiseWorkgroupSize})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * ${elementwiseWorkgroupSize}u + lid;
  if (i >= params.count) { return; }
#if ${dtype === 'f32'}
  out[params.outShift + i] = a[params.aShift + i] * params.alpha + params.beta;
#else
  out[params.outShift + i] = ${dtype}(f32(a[params.aShift + i]) * params.alpha + params.beta);
#endif
}
`;
}
