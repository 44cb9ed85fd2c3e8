import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { workgroupReduce } from './common.js';
import { kernelFamily, read, write } from './kernel.js';

/**
 * `fn labelClass(raw, cols) -> u32`: the class a label picks, `cols` for an example to ignore,
 * or `cols + 1` for a label that is invalid. With `span` (SQuAD), positions clamp into
 * [0, cols] and cols is ignored, as Hugging Face's BertForQuestionAnswering clamps them
 * to ignored_index = seq. Otherwise a label outside [0, cols) is invalid: the ops then
 * write NaN, so a bad label on the device is loud without any out-of-bounds read.
 */
function targetFn(span: boolean): string {
  return wgsl`
fn labelClass(raw: i32, cols: u32) -> u32 {
#if ${span}
  return u32(clamp(raw, 0, i32(cols)));
#else
  if (raw < 0 || raw >= i32(cols)) { return cols + 1u; }
  return u32(raw);
#endif
}
`;
}

/**
 * Max and Σ exp(x - max) of row `base` over the workgroup, the stable log-sum-exp's parts.
 * Call from uniform control flow.
 */
function rowStatsFn(size: number): string {
  return /* wgsl */ `
fn rowStats(base: u32, cols: u32, lid: u32) -> vec2f {
  var m = bitcast<f32>(0xff7fffffu);
  for (var c = lid; c < cols; c += ${size}u) { m = max(m, x[base + c]); }
  m = workgroupMax(m, lid);
  var s = 0.0;
  for (var c = lid; c < cols; c += ${size}u) { s += exp(x[base + c] - m); }
  return vec2f(m, workgroupSum(s, lid));
}
`;
}

/** A row kernel's variant: its workgroup size, and the span (SQuAD) label rule (labelClass). */
export interface LossRowsVariant {
  size: number;
  span: boolean;
}

/**
 * Per-example cross-entropy, one workgroup a row of logits: loss = (max - x[label]) +
 * log Σ exp(x - max), in that order so that a dominant label logit loses no digits to
 * cancellation. Labels are bound whole (the backward counts over all of them); row
 * `row` of this launch has label rowStart + row.
 */
export const crossEntropyRowsKernel = kernelFamily('crossEntropyRows', ({ size, span }: LossRowsVariant) => ({
  name: `crossEntropyRows${span ? '[span]' : ''}`,
  bindings: { x: read(), labels: read('i32'), losses: write() },
  uniforms: { rows: 'u32', cols: 'u32', rowStart: 'u32', nanBits: 'u32' },
  workgroupSize: size,
  dispatch: (u) => u.rows,
  code: /* wgsl */ `
${workgroupReduce(size)}
${targetFn(span)}
${rowStatsFn(size)}
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }
  let base = p.xShift + row * p.cols;
  let stats = rowStats(base, p.cols, lid);
  if (lid != 0u) { return; }
  let t = labelClass(labels[p.labelsShift + p.rowStart + row], p.cols);
  var loss = 0.0;
  if (t > p.cols) { loss = bitcast<f32>(p.nanBits); }
  else if (t < p.cols) { loss = (stats.x - x[base + t]) + log(stats.y); }
  losses[p.lossesShift + row] = loss;
}
`,
}));

/**
 * dx = (softmax(x) - onehot(label)) * weight, 0 for an ignored example. weight is `scale`,
 * divided with `countValid` by the number of examples not ignored (each workgroup counts
 * them over the whole batch: O(batch) a row, nothing beside the row's exps for batches
 * of a few thousand).
 */
export const crossEntropyBackwardKernel = kernelFamily('crossEntropyBackward', ({ size, span, countValid }: LossRowsVariant & { countValid: boolean }) => ({
  name: `crossEntropyBackward${span ? '[span]' : ''}`,
  bindings: { x: read(), labels: read('i32'), dx: write() },
  uniforms: { rows: 'u32', cols: 'u32', rowStart: 'u32', batch: 'u32', scale: 'f32', nanBits: 'u32' },
  workgroupSize: size,
  dispatch: (u) => u.rows,
  code: wgsl`
${workgroupReduce(size)}
${targetFn(span)}
${rowStatsFn(size)}
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }
  let base = p.xShift + row * p.cols;
  let stats = rowStats(base, p.cols, lid);
  var weight = p.scale;
#if ${countValid}
  var n = 0.0;
  for (var i = lid; i < p.batch; i += ${size}u) {
    if (labelClass(labels[p.labelsShift + i], p.cols) < p.cols) { n += 1.0; }
  }
  weight = weight / workgroupSum(n, lid);
#endif
  let t = labelClass(labels[p.labelsShift + p.rowStart + row], p.cols);
  let inv = 1.0 / stats.y;
  let out = p.dxShift + row * p.cols;
  for (var c = lid; c < p.cols; c += ${size}u) {
    var g = 0.0;
    if (t > p.cols) { g = bitcast<f32>(p.nanBits); }
    else if (t < p.cols) { g = (exp(x[base + c] - stats.x) * inv - select(0.0, 1.0, c == t)) * weight; }
    dx[out + c] = g;
  }
}
`,
}));

export interface LossMeanVariant {
  size: number;
  parts: 1 | 2;
  countValid: boolean;
  span: boolean;
}

/**
 * The batch loss, by one workgroup: the mean over `parts` (lossesA, lossesB) of
 * (Σ_b losses[b]) / n, where n is the batch or, with `countValid`, the number of examples
 * whose labels (labelsA, labelsB) do not ignore them. A part with every example ignored
 * gives NaN, as PyTorch's mean over no elements does. `span` picks the label rule (labelClass).
 * The labels are bound only with `countValid`; with one part, lossesB is unread.
 */
export const lossMeanKernel = kernelFamily('lossMean', ({ size, parts, countValid, span }: LossMeanVariant) => {
  const part = (losses: string, labels: string) => wgsl`
  {
    var s = 0.0;
    for (var i = lid; i < p.batch; i += ${size}u) { s += ${losses}[p.${losses}Shift + i]; }
    let partSum = workgroupSum(s, lid);
#if ${countValid}
    var c = 0.0;
    for (var i = lid; i < p.batch; i += ${size}u) {
      if (labelClass(${labels}[p.${labels}Shift + i], p.cols) < p.cols) { c += 1.0; }
    }
    let n = workgroupSum(c, lid);
#else
    let n = f32(p.batch);
#endif
    if (n == 0.0) { total += bitcast<f32>(p.nanBits); } else { total += partSum / n; }
  }`;
  return {
    name: 'lossMean',
    bindings: { lossesA: read(), lossesB: read(), ...(countValid ? { labelsA: read('i32'), labelsB: read('i32') } : {}), out: write() },
    uniforms: { batch: 'u32', cols: 'u32', nanBits: 'u32' },
    workgroupSize: size,
    dispatch: () => 1,
    code: /* wgsl */ `
${workgroupReduce(size)}
${targetFn(span)}
fn main(@builtin(local_invocation_index) lid: u32) {
  var total = 0.0;
  ${part('lossesA', 'labelsA')}
  ${parts === 2 ? part('lossesB', 'labelsB') : ''}
  if (lid == 0u) { out[p.outShift] = total / ${parts}.0; }
}
`,
  };
});
