import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { flatWorkgroup, mapWorkgroupSize, workgroupReduce } from './common.js';

/**
 * x viewed as [outer, groups, inner], times mask[group]: the head mask on the attention
 * context [batch, heads, seq, headDim] (groups = heads), the neuron mask on the FFN
 * activation [tokens, neurons] (inner = 1). `start` is the first element of this launch.
 */
export const applyMaskSource = /* wgsl */ `
struct Params { count: u32, start: u32, groups: u32, inner: u32, xShift: u32, maskShift: u32, outShift: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mask: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
${flatWorkgroup}
@compute @workgroup_size(${mapWorkgroupSize})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * ${mapWorkgroupSize}u + lid;
  if (i >= p.count) { return; }
  let group = ((p.start + i) / p.inner) % p.groups;
  out[p.outShift + i] = x[p.xShift + i] * mask[p.maskShift + group];
}
`;

/**
 * The gradient of a mask, per example (docs/method.md step 1): for x viewed as
 * [batch, pre, groups, inner], out[b * outStride + j] = Σ_{pre, inner} a ⊙ g over the
 * entries of group j, with a the masked tensor's input and g the upstream gradient. One
 * workgroup per (example, group), a tree over its terms. `batchStart` offsets the output
 * rows of a launch that covers part of the batch.
 */
export function maskGradientSource(size: number): string {
  return /* wgsl */ `
struct Params { batch: u32, pre: u32, groups: u32, inner: u32, aShift: u32, gShift: u32, outShift: u32, outStride: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
${flatWorkgroup}
${workgroupReduce(size)}
@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let id = flatWorkgroup(wid, nwg);
  if (id >= p.batch * p.groups) { return; }
  let b = id / p.groups;
  let j = id % p.groups;
  let terms = p.pre * p.inner;
  var s = 0.0;
  for (var t = lid; t < terms; t += ${size}u) {
    let q = t / p.inner;
    let i = ((b * p.pre + q) * p.groups + j) * p.inner + t % p.inner;
    s += a[p.aShift + i] * g[p.gShift + i];
  }
  let total = workgroupSum(s, lid);
  if (lid == 0u) { out[p.outShift + b * p.outStride + j] = total; }
}
`;
}

/**
 * Empirical Fisher diagonal, accumulated in place: fisher[j] += Σ_b grads[b, j]² (per
 * example), or (Σ_b grads[b, j])² when the batch is one sample (the reference code's
 * per-batch variant).
 */
export function fisherAccumulateSource(perBatch: boolean): string {
  return wgsl`
struct Params { count: u32, batch: u32, gShift: u32, fShift: u32 }
@group(0) @binding(0) var<storage, read> grads: array<f32>;
@group(0) @binding(1) var<storage, read_write> fisher: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
${flatWorkgroup}
@compute @workgroup_size(${mapWorkgroupSize})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let j = flatWorkgroup(wid, nwg) * ${mapWorkgroupSize}u + lid;
  if (j >= p.count) { return; }
  var s = 0.0;
  for (var b = 0u; b < p.batch; b++) {
    let v = grads[p.gShift + b * p.count + j];
#if ${perBatch}
    s += v;
#else
    s += v * v;
#endif
  }
#if ${perBatch}
  fisher[p.fShift + j] += s * s;
#else
  fisher[p.fShift + j] += s;
#endif
}
`;
}
