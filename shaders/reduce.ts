import { kernelFamily, read, write, type ScalarType } from './kernel.js';

export type ReduceOp = 'sum' | 'max';

export interface ReduceVariant {
  op: ReduceOp;
  dtype: ScalarType;
  size: number;
}

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
export const reduceRowsKernel = kernelFamily('reduceRows', ({ op, dtype, size }: ReduceVariant) => ({
  name: `${op}Rows[${dtype}]`,
  bindings: { x: read(dtype), out: write(dtype) },
  uniforms: { rows: 'u32', len: 'u32' },
  workgroupSize: size,
  dispatch: (u) => u.rows,
  code: /* wgsl */ `
var<workgroup> partial: array<f32, ${size}>;
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg);
  // Whole workgroups leave together, so the barriers below stay uniform.
  if (row >= p.rows) { return; }
  let base = p.xShift + row * p.len;
  var acc = ${init[op]};
  for (var i = lid; i < p.len; i += ${size}u) {
    acc = ${combine[op]('acc', 'f32(x[base + i])')};
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var stride = ${size / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { partial[lid] = ${combine[op]('partial[lid]', 'partial[lid + stride]')}; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[p.outShift + row] = ${dtype}(partial[0]); }
}
`,
}));

/** Reduces the middle axis of [outer, len, inner]: one thread per output, reads coalesced over inner. */
export const reduceStridedKernel = kernelFamily('reduceStrided', ({ op, dtype, size }: ReduceVariant) => ({
  name: `${op}Strided[${dtype}]`,
  bindings: { x: read(dtype), out: write(dtype) },
  uniforms: { outer: 'u32', len: 'u32', inner: 'u32' },
  workgroupSize: size,
  dispatch: (u) => Math.ceil((u.outer * u.inner) / size),
  code: /* wgsl */ `
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * ${size}u + lid;
  if (i >= p.outer * p.inner) { return; }
  let o = i / p.inner;
  let j = i % p.inner;
  let base = p.xShift + o * p.len * p.inner + j;
  var acc = ${init[op]};
  for (var l = 0u; l < p.len; l++) {
    acc = ${combine[op]('acc', 'f32(x[base + l * p.inner])')};
  }
  out[p.outShift + i] = ${dtype}(acc);
}
`,
}));
