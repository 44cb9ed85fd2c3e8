import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { flatWorkgroup, workgroupReduce } from './common.js';

/** Uniforms and bindings of the forward, shared by its two variants (a row per workgroup or per invocation). */
const forwardBindings = /* wgsl */ `
struct Params { rows: u32, cols: u32, rowsPerBatch: u32, scale: f32, xShift: u32, yShift: u32, biasShift: u32, rowStart: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
${flatWorkgroup}`;

/** x * scale + the key bias of the row's batch. */
const logitFunction = (hasBias: boolean) => wgsl`
fn logit(base: u32, biasBase: u32, c: u32) -> f32 {
#if ${hasBias}
  return x[base + c] * p.scale + bias[biasBase + c];
#else
  return x[base + c] * p.scale;
#endif
}`;

/** The same bindings for the backward. */
const backwardBindings = /* wgsl */ `
struct Params { rows: u32, cols: u32, scale: f32, yShift: u32, dyShift: u32, dxShift: u32 }
@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
${flatWorkgroup}`;

/**
 * Softmax over the last axis of x * scale + bias, one workgroup a row, stable (the row's
 * max is subtracted before exp). `bias` is an additive key mask [batches, cols] shared by
 * `rowsPerBatch` consecutive rows (all heads and queries of one sequence): padded keys
 * carry the float32 minimum, as Hugging Face does, and so get probability 0.
 */
export function softmaxForwardSource(size: number, hasBias: boolean, rowPerThread = false): string {
  if (rowPerThread) return softmaxForwardRowSource(size, hasBias);
  return wgsl`
${forwardBindings}
${workgroupReduce(size)}
${logitFunction(hasBias)}
@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }
  let base = p.xShift + row * p.cols;
  let biasBase = p.biasShift + ((p.rowStart + row) / p.rowsPerBatch) * p.cols;
  var m = bitcast<f32>(0xff7fffffu);
  for (var c = lid; c < p.cols; c += ${size}u) { m = max(m, logit(base, biasBase, c)); }
  m = workgroupMax(m, lid);
  var s = 0.0;
  for (var c = lid; c < p.cols; c += ${size}u) { s += exp(logit(base, biasBase, c) - m); }
  let inv = 1.0 / workgroupSum(s, lid);
  let out = p.yShift + row * p.cols;
  for (var c = lid; c < p.cols; c += ${size}u) { y[out + c] = exp(logit(base, biasBase, c) - m) * inv; }
}
`;
}

/** dx = scale * y * (dy - Σ dy y), from the forward output. */
export function softmaxBackwardSource(size: number): string {
  return /* wgsl */ `
${backwardBindings}
${workgroupReduce(size)}
@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }
  let yb = p.yShift + row * p.cols;
  let db = p.dyShift + row * p.cols;
  var s = 0.0;
  for (var c = lid; c < p.cols; c += ${size}u) { s += dy[db + c] * y[yb + c]; }
  let dot = workgroupSum(s, lid);
  let ob = p.dxShift + row * p.cols;
  for (var c = lid; c < p.cols; c += ${size}u) { dx[ob + c] = p.scale * y[yb + c] * (dy[db + c] - dot); }
}
`;
}

/**
 * The same softmax with one invocation a row and no barriers. On CPU adapters (llvmpipe,
 * SwiftShader) a barrier costs a coroutine switch of the whole workgroup, and attention's
 * rows are short: 8,192 rows of 32 took 197 ms with a workgroup a row, against 1x-4x less
 * this way (lavapipe, loaded machine; see the note of the kernels issue).
 */
function softmaxForwardRowSource(size: number, hasBias: boolean): string {
  return wgsl`
${forwardBindings}
${logitFunction(hasBias)}
@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg) * ${size}u + lid;
  if (row >= p.rows) { return; }
  let base = p.xShift + row * p.cols;
  let biasBase = p.biasShift + ((p.rowStart + row) / p.rowsPerBatch) * p.cols;
  var m = bitcast<f32>(0xff7fffffu);
  for (var c = 0u; c < p.cols; c++) { m = max(m, logit(base, biasBase, c)); }
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += exp(logit(base, biasBase, c) - m); }
  let inv = 1.0 / s;
  let out = p.yShift + row * p.cols;
  for (var c = 0u; c < p.cols; c++) { y[out + c] = exp(logit(base, biasBase, c) - m) * inv; }
}
`;
}

/** softmaxBackward with one invocation a row (see softmaxForwardRowSource). */
export function softmaxBackwardRowSource(size: number): string {
  return /* wgsl */ `
${backwardBindings}
@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg) * ${size}u + lid;
  if (row >= p.rows) { return; }
  let yb = p.yShift + row * p.cols;
  let db = p.dyShift + row * p.cols;
  var dot = 0.0;
  for (var c = 0u; c < p.cols; c++) { dot += dy[db + c] * y[yb + c]; }
  let ob = p.dxShift + row * p.cols;
  for (var c = 0u; c < p.cols; c++) { dx[ob + c] = p.scale * y[yb + c] * (dy[db + c] - dot); }
}
`;
}
