import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { workgroupReduce } from './common.js';
import { kernelFamily, read, write } from './kernel.js';
import { rowsDispatch, type RowVariant } from './layernorm.js';

/** The forward's variant: the row mapping, and whether an additive key mask is added. */
export interface SoftmaxForwardVariant extends RowVariant {
  hasBias: boolean;
}

/** x * scale + the key bias of the row's batch. */
const logitFunction = (hasBias: boolean) => wgsl`
fn logit(base: u32, biasBase: u32, c: u32) -> f32 {
#if ${hasBias}
  return x[base + c] * p.scale + bias[biasBase + c];
#else
  return x[base + c] * p.scale;
#endif
}`;

/**
 * Softmax over the last axis of x * scale + bias, one workgroup a row, stable (the row's
 * max is subtracted before exp). `bias` is an additive key mask [batches, cols] shared by
 * `rowsPerBatch` consecutive rows (all heads and queries of one sequence): padded keys
 * carry the float32 minimum, as Hugging Face does, and so get probability 0. `rowStart` is
 * the first row of this launch (for the row's batch). Without a bias the kernel never
 * reads `bias`, but it is still bound (the op binds x in its place).
 *
 * The `rowPerThread` variant runs one invocation a row and no barriers. On CPU adapters
 * (llvmpipe, SwiftShader) a barrier costs a coroutine switch of the whole workgroup, and
 * attention's rows are short: 8,192 rows of 32 took 197 ms with a workgroup a row, against
 * 1x-4x less this way (lavapipe, loaded machine; see the note of the kernels issue).
 */
export const softmaxForwardKernel = kernelFamily('softmaxForward', (v: SoftmaxForwardVariant) => ({
  name: `softmaxForward${v.hasBias ? '[bias]' : ''}${v.rowPerThread ? '[row]' : ''}`,
  bindings: { x: read(), bias: read(), y: write() },
  uniforms: { rows: 'u32', cols: 'u32', rowsPerBatch: 'u32', scale: 'f32', rowStart: 'u32' },
  workgroupSize: v.size,
  dispatch: rowsDispatch(v),
  code: v.rowPerThread ? wgsl`
${logitFunction(v.hasBias)}
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg) * ${v.size}u + lid;
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
` : wgsl`
${workgroupReduce(v.size)}
${logitFunction(v.hasBias)}
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }
  let base = p.xShift + row * p.cols;
  let biasBase = p.biasShift + ((p.rowStart + row) / p.rowsPerBatch) * p.cols;
  var m = bitcast<f32>(0xff7fffffu);
  for (var c = lid; c < p.cols; c += ${v.size}u) { m = max(m, logit(base, biasBase, c)); }
  m = workgroupMax(m, lid);
  var s = 0.0;
  for (var c = lid; c < p.cols; c += ${v.size}u) { s += exp(logit(base, biasBase, c) - m); }
  let inv = 1.0 / workgroupSum(s, lid);
  let out = p.yShift + row * p.cols;
  for (var c = lid; c < p.cols; c += ${v.size}u) { y[out + c] = exp(logit(base, biasBase, c) - m) * inv; }
}
`,
}));

/**
 * dx = scale * y * (dy - Σ dy y), from the forward output; a row per workgroup, or per
 * invocation (`rowPerThread`, see softmaxForwardKernel).
 */
export const softmaxBackwardKernel = kernelFamily('softmaxBackward', (v: RowVariant) => ({
  name: `softmaxBackward${v.rowPerThread ? '[row]' : ''}`,
  bindings: { y: read(), dy: read(), dx: write() },
  uniforms: { rows: 'u32', cols: 'u32', scale: 'f32' },
  workgroupSize: v.size,
  dispatch: rowsDispatch(v),
  code: v.rowPerThread ? /* wgsl */ `
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg) * ${v.size}u + lid;
  if (row >= p.rows) { return; }
  let yb = p.yShift + row * p.cols;
  let db = p.dyShift + row * p.cols;
  var dot = 0.0;
  for (var c = 0u; c < p.cols; c++) { dot += dy[db + c] * y[yb + c]; }
  let ob = p.dxShift + row * p.cols;
  for (var c = 0u; c < p.cols; c++) { dx[ob + c] = p.scale * y[yb + c] * (dy[db + c] - dot); }
}
` : /* wgsl */ `
${workgroupReduce(v.size)}
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }
  let yb = p.yShift + row * p.cols;
  let db = p.dyShift + row * p.cols;
  var s = 0.0;
  for (var c = lid; c < p.cols; c += ${v.size}u) { s += dy[db + c] * y[yb + c]; }
  let dot = workgroupSum(s, lid);
  let ob = p.dxShift + row * p.cols;
  for (var c = lid; c < p.cols; c += ${v.size}u) { dx[ob + c] = p.scale * y[yb + c] * (dy[db + c] - dot); }
}
`,
}));
