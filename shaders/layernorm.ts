import { flatWorkgroup, workgroupReduce } from './common.js';

/** Uniforms and bindings of the forward, shared by its two variants (a row per workgroup or per invocation). */
const forwardBindings = /* wgsl */ `
struct Params { rows: u32, cols: u32, eps: f32, xShift: u32, yShift: u32, meanShift: u32, rstdShift: u32, gammaShift: u32, betaShift: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> meanOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstdOut: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;
${flatWorkgroup}`;

/** The same for the input backward. */
const backwardBindings = /* wgsl */ `
struct Params { rows: u32, cols: u32, xShift: u32, dyShift: u32, dxShift: u32, meanShift: u32, rstdShift: u32, gammaShift: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> meanIn: array<f32>;
@group(0) @binding(3) var<storage, read> rstdIn: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;
${flatWorkgroup}`;

/**
 * LayerNorm over the last axis, one workgroup a row: y = (x - mean) * rstd * gamma + beta.
 * Two passes over the row (mean, then the variance of x - mean), which stays accurate
 * when |mean| is large against the spread. Saves mean and rstd for the backward.
 */
export function layernormForwardSource(size: number, rowPerThread = false): string {
  if (rowPerThread) return layernormForwardRowSource(size);
  return /* wgsl */ `
${forwardBindings}
${workgroupReduce(size)}
@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }
  let base = p.xShift + row * p.cols;
  var s = 0.0;
  for (var c = lid; c < p.cols; c += ${size}u) { s += x[base + c]; }
  let mean = workgroupSum(s, lid) / f32(p.cols);
  var v = 0.0;
  for (var c = lid; c < p.cols; c += ${size}u) { let d = x[base + c] - mean; v += d * d; }
  let rstd = inverseSqrt(workgroupSum(v, lid) / f32(p.cols) + p.eps);
  let out = p.yShift + row * p.cols;
  for (var c = lid; c < p.cols; c += ${size}u) {
    y[out + c] = (x[base + c] - mean) * rstd * gamma[p.gammaShift + c] + beta[p.betaShift + c];
  }
  if (lid == 0u) {
    meanOut[p.meanShift + row] = mean;
    rstdOut[p.rstdShift + row] = rstd;
  }
}
`;
}

/**
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma and
 * xhat = (x - mean) * rstd, one workgroup a row.
 */
export function layernormBackwardSource(size: number, rowPerThread = false): string {
  if (rowPerThread) return layernormBackwardRowSource(size);
  return /* wgsl */ `
${backwardBindings}
${workgroupReduce(size)}
@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }
  let mean = meanIn[p.meanShift + row];
  let rstd = rstdIn[p.rstdShift + row];
  let xb = p.xShift + row * p.cols;
  let db = p.dyShift + row * p.cols;
  var sg = 0.0;
  var sgx = 0.0;
  for (var c = lid; c < p.cols; c += ${size}u) {
    let g = dy[db + c] * gamma[p.gammaShift + c];
    sg += g;
    sgx += g * (x[xb + c] - mean) * rstd;
  }
  let n = f32(p.cols);
  let meanG = workgroupSum(sg, lid) / n;
  let meanGX = workgroupSum(sgx, lid) / n;
  let ob = p.dxShift + row * p.cols;
  for (var c = lid; c < p.cols; c += ${size}u) {
    let g = dy[db + c] * gamma[p.gammaShift + c];
    let xhat = (x[xb + c] - mean) * rstd;
    dx[ob + c] = rstd * (g - meanG - xhat * meanGX);
  }
}
`;
}

/**
 * dgamma[c] = Σ_rows dy * xhat and dbeta[c] = Σ_rows dy for one block of rows, one
 * thread a column (reads coalesce across threads). Blocks' partial sums are added after.
 */
export function layernormParamsBackwardSource(size: number): string {
  return /* wgsl */ `
struct Params { rows: u32, cols: u32, xShift: u32, dyShift: u32, meanShift: u32, rstdShift: u32, dgammaShift: u32, dbetaShift: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> meanIn: array<f32>;
@group(0) @binding(2) var<storage, read> rstdIn: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;
${flatWorkgroup}
@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = flatWorkgroup(wid, nwg) * ${size}u + lid;
  if (c >= p.cols) { return; }
  var sg = 0.0;
  var sb = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let d = dy[p.dyShift + r * p.cols + c];
    sg += d * (x[p.xShift + r * p.cols + c] - meanIn[p.meanShift + r]) * rstdIn[p.rstdShift + r];
    sb += d;
  }
  dgamma[p.dgammaShift + c] = sg;
  dbeta[p.dbetaShift + c] = sb;
}
`;
}

/** The forward with one invocation a row and no barriers, for CPU adapters (see softmax.ts). */
function layernormForwardRowSource(size: number): string {
  return /* wgsl */ `
${forwardBindings}
@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg) * ${size}u + lid;
  if (row >= p.rows) { return; }
  let base = p.xShift + row * p.cols;
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += x[base + c]; }
  let mean = s / f32(p.cols);
  var v = 0.0;
  for (var c = 0u; c < p.cols; c++) { let d = x[base + c] - mean; v += d * d; }
  let rstd = inverseSqrt(v / f32(p.cols) + p.eps);
  let out = p.yShift + row * p.cols;
  for (var c = 0u; c < p.cols; c++) {
    y[out + c] = (x[base + c] - mean) * rstd * gamma[p.gammaShift + c] + beta[p.betaShift + c];
  }
  meanOut[p.meanShift + row] = mean;
  rstdOut[p.rstdShift + row] = rstd;
}
`;
}

/** The input backward with one invocation a row, for CPU adapters. */
function layernormBackwardRowSource(size: number): string {
  return /* wgsl */ `
${backwardBindings}
@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg) * ${size}u + lid;
  if (row >= p.rows) { return; }
  let mean = meanIn[p.meanShift + row];
  let rstd = rstdIn[p.rstdShift + row];
  let xb = p.xShift + row * p.cols;
  let db = p.dyShift + row * p.cols;
  var sg = 0.0;
  var sgx = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    let g = dy[db + c] * gamma[p.gammaShift + c];
    sg += g;
    sgx += g * (x[xb + c] - mean) * rstd;
  }
  let n = f32(p.cols);
  let meanG = sg / n;
  let meanGX = sgx / n;
  let ob = p.dxShift + row * p.cols;
  for (var c = 0u; c < p.cols; c++) {
    let g = dy[db + c] * gamma[p.gammaShift + c];
    dx[ob + c] = rstd * (g - meanG - (x[xb + c] - mean) * rstd * meanGX);
  }
}
`;
}
