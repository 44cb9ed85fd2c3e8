import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import type { DType } from '../src/runtime/dtype.js';
import { enables, flatWorkgroup } from './common.js';

export type ReduceOp = 'sum' | 'max';

// WGSL has no infinity literal (constant expressions may not overflow), so max starts
// from the lowest finite float: a row of only -inf reduces to -3.4e38.
const init: Record<ReduceOp, string> = { sum: '0.0', max: 'bitcast<f32>(0xff7fffffu)' };
const combine: Record<ReduceOp, (x: string, y: string) => string> = {
  sum: (x, y) => `${x} + ${y}`,
  max: (x, y) => `max(${x}, ${y})`,
};

/**
 * Reduces contiguous rows: one workgroup a row, each thread a strided slice, then a tree
 * in workgroup memory. Pairwise summation keeps the error near log2(len) roundings.
 * Accumulates in f32 whatever the storage type.
 */
export function reduceRowsSource(op: ReduceOp, dtype: DType, workgroupSize: number): string {
  return wgsl`${enables(dtype)}
struct Params { rows: u32, len: u32, inShift: u32, outShift: u32 }
@group(0) @binding(0) var<storage, read> x: array<${dtype}>;
@group(0) @binding(1) var<storage, read_write> out: array<${dtype}>;
@group(0) @binding(2) var<uniform> params: Params;
var<workgroup> partial: array<f32, ${workgroupSize}>;
${flatWorkgroup}
@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg);
  // Whole workgroups leave together, so the barriers below stay uniform.
  if (row >= params.rows) { return; }
  let base = params.inShift + row * params.len;
  var acc = ${init[op]};
  for (var i = lid; i < params.len; i += ${workgroupSize}u) {
    acc = ${combine[op]('acc', 'f32(x[base + i])')};
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var stride = ${workgroupSize / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { partial[lid] = ${combine[op]('partial[lid]', 'partial[lid + stride]')}; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[params.outShift + row] = ${dtype}(partial[0]); }
}
`;
}

/** Reduces the middle axis of [outer, len, inner]: one thread per output, reads coalesced over inner. */
export function reduceStridedSource(op: ReduceOp, dtype: DType, workgroupSize: number): string {
  return wgsl`${enables(dtype)}
struct Params { outer: u32, len: u32, inner: u32, inShift: u32, outShift: u32 }
@group(0) @binding(0) var<storage, read> x: array<${dtype}>;
@group(0) @binding(1) var<storage, read_write> out: array<${dtype}>;
@group(0) @binding(2) var<uniform> params: Params;
${flatWorkgroup}
@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * ${workgroupSize}u + lid;
  if (i >= params.outer * params.inner) { return; }
  let o = i / params.inner;
  let j = i % params.inner;
  let base = params.inShift + o * params.len * params.inner + j;
  var acc = ${init[op]};
  for (var l = 0u; l < params.len; l++) {
    acc = ${combine[op]('acc', 'f32(x[base + l * params.inner])')};
  }
  out[params.outShift + i] = ${dtype}(acc);
}
`;
}
