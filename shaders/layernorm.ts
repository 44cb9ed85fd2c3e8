import { workgroupReduce } from './common.js';
import { kernelFamily, read, write } from './kernel.js';

/** A row-wise kernel's variant: its workgroup size, and a row per invocation rather than per workgroup. */
export interface RowVariant {
  size: number;
  rowPerThread: boolean;
}

/** Workgroups of a row-wise launch: one a row, or one per `size` rows with a row per invocation. */
export const rowsDispatch = ({ size, rowPerThread }: RowVariant) => (u: { rows: number }) => (rowPerThread ? Math.ceil(u.rows / size) : u.rows);

/**
 * LayerNorm over the last axis: y = (x - mean) * rstd * gamma + beta, one workgroup a row
 * or (`rowPerThread`, for CPU adapters, see softmax.ts) one invocation a row. Two passes
 * over the row (mean, then the variance of x - mean), which stays accurate when |mean| is
 * large against the spread. Saves mean and rstd for the backward.
 */
export const layernormForwardKernel = kernelFamily('layernormForward', (v: RowVariant) => ({
  name: `layernormForward${v.rowPerThread ? '[row]' : ''}`,
  bindings: { x: read(), gamma: read(), beta: read(), y: write(), meanOut: write(), rstdOut: write() },
  uniforms: { rows: 'u32', cols: 'u32', eps: 'f32' },
  workgroupSize: v.size,
  dispatch: rowsDispatch(v),
  code: v.rowPerThread ? layernormForwardRowCode(v.size) : /* wgsl */ `
${workgroupReduce(v.size)}
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }
  let base = p.xShift + row * p.cols;
  var s = 0.0;
  for (var c = lid; c < p.cols; c += ${v.size}u) { s += x[base + c]; }
  let mean = workgroupSum(s, lid) / f32(p.cols);
  var v = 0.0;
  for (var c = lid; c < p.cols; c += ${v.size}u) { let d = x[base + c] - mean; v += d * d; }
  let rstd = inverseSqrt(workgroupSum(v, lid) / f32(p.cols) + p.eps);
  let out = p.yShift + row * p.cols;
  for (var c = lid; c < p.cols; c += ${v.size}u) {
    y[out + c] = (x[base + c] - mean) * rstd * gamma[p.gammaShift + c] + beta[p.betaShift + c];
  }
  if (lid == 0u) {
    meanOut[p.meanOutShift + row] = mean;
    rstdOut[p.rstdOutShift + row] = rstd;
  }
}
`,
}));

/**
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma and
 * xhat = (x - mean) * rstd, a row per workgroup or per invocation.
 */
export const layernormBackwardKernel = kernelFamily('layernormBackward', (v: RowVariant) => ({
  name: `layernormBackward${v.rowPerThread ? '[row]' : ''}`,
  bindings: { x: read(), gamma: read(), meanIn: read(), rstdIn: read(), dy: read(), dx: write() },
  uniforms: { rows: 'u32', cols: 'u32' },
  workgroupSize: v.size,
  dispatch: rowsDispatch(v),
  code: v.rowPerThread ? layernormBackwardRowCode(v.size) : /* wgsl */ `
${workgroupReduce(v.size)}
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }
  let mean = meanIn[p.meanInShift + row];
  let rstd = rstdIn[p.rstdInShift + row];
  let xb = p.xShift + row * p.cols;
  let db = p.dyShift + row * p.cols;
  var sg = 0.0;
  var sgx = 0.0;
  for (var c = lid; c < p.cols; c += ${v.size}u) {
    let g = dy[db + c] * gamma[p.gammaShift + c];
    sg += g;
    sgx += g * (x[xb + c] - mean) * rstd;
  }
  let n = f32(p.cols);
  let meanG = workgroupSum(sg, lid) / n;
  let meanGX = workgroupSum(sgx, lid) / n;
  let ob = p.dxShift + row * p.cols;
  for (var c = lid; c < p.cols; c += ${v.size}u) {
    let g = dy[db + c] * gamma[p.gammaShift + c];
    let xhat = (x[xb + c] - mean) * rstd;
    dx[ob + c] = rstd * (g - meanG - xhat * meanGX);
  }
}
`,
}));

/**
 * dgamma[c] = Σ_rows dy * xhat and dbeta[c] = Σ_rows dy for one block of rows, one
 * thread a column (reads coalesce across threads). Blocks' partial sums are added after.
 */
export const layernormParamsBackwardKernel = kernelFamily('layernormParamsBackward', (size: number) => ({
  name: 'layernormParamsBackward',
  bindings: { x: read(), meanIn: read(), rstdIn: read(), dy: read(), dgamma: write(), dbeta: write() },
  uniforms: { rows: 'u32', cols: 'u32' },
  workgroupSize: size,
  dispatch: (u) => Math.ceil(u.cols / size),
  code: /* wgsl */ `
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = flatWorkgroup(wid, nwg) * ${size}u + lid;
  if (c >= p.cols) { return; }
  var sg = 0.0;
  var sb = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let d = dy[p.dyShift + r * p.cols + c];
    sg += d * (x[p.xShift + r * p.cols + c] - meanIn[p.meanInShift + r]) * rstdIn[p.rstdInShift + r];
    sb += d;
  }
  dgamma[p.dgammaShift + c] = sg;
  dbeta[p.dbetaShift + c] = sb;
}
`,
}));

/** The forward's code with one invocation a row and no barriers, for CPU adapters (see softmax.ts). */
function layernormForwardRowCode(size: number): string {
  return /* wgsl */ `
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
  meanOut[p.meanOutShift + row] = mean;
  rstdOut[p.rstdOutShift + row] = rstd;
}
`;
}

/** The input backward's code with one invocation a row, for CPU adapters. */
function layernormBackwardRowCode(size: number): string {
  return /* wgsl */ `
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg) * ${size}u + lid;
  if (row >= p.rows) { return; }
  let mean = meanIn[p.meanInShift + row];
  let rstd = rstdIn[p.rstdInShift + row];
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

/** The fused add + LayerNorm's variant: a row mapping, and vec4 accesses (cols a multiple of 4, every binding on a vec4). */
export interface AddLayernormVariant extends RowVariant {
  vec4: boolean;
}

/**
 * LayerNorm of a residual sum, y = LN(a + b), in one launch: the residual add and the
 * normalisation that follows it in every BERT block (issue 12). Writes the sum x = a + b
 * (float32, as a separate add would) for the backward, which is layernormBackward's on x,
 * with dx flowing to both a and b; and mean, rstd as layernormForward does. The mean and
 * variance are two passes over the stored sum, as in layernormForwardKernel.
 *
 * `vec4` reads and writes four columns an access (`T` is vec4f, `cols` still counts
 * scalars): on software adapters every storage access is a per-lane loop with a bounds
 * check, so a vec4 costs about as much as a scalar (see mapKernel in common.ts). A row per
 * workgroup or (`rowPerThread`) per invocation, as the other row-wise kernels.
 */
export const addLayernormForwardKernel = kernelFamily('addLayernormForward', (v: AddLayernormVariant) => {
  const T = v.vec4 ? 'vec4f' : 'f32';
  const width = v.vec4 ? 4 : 1;
  const [first, step, total] = v.rowPerThread ? ['0u', '1u', (x: string) => x] : ['lid', `${v.size}u`, (x: string) => `workgroupSum(${x}, lid)`];
  const code = /* wgsl */ `
${v.rowPerThread ? '' : workgroupReduce(v.size)}
fn lanes(v: ${T}) -> f32 {
  return ${v.vec4 ? 'v.x + v.y + v.z + v.w' : 'v'};
}
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = ${v.rowPerThread ? `flatWorkgroup(wid, nwg) * ${v.size}u + lid` : 'flatWorkgroup(wid, nwg)'};
  if (row >= p.rows) { return; }
  let width = p.cols / ${width}u;
  let ab = p.aShift + row * width;
  let bb = p.bShift + row * width;
  let xb = p.xOutShift + row * width;
  var s = ${T}(0.0);
  for (var c = ${first}; c < width; c += ${step}) {
    let x = a[ab + c] + b[bb + c];
    xOut[xb + c] = x;
    s += x;
  }
  // Each invocation reads back only the sums it wrote itself.
  let mean = ${total('lanes(s)')} / f32(p.cols);
  var q = ${T}(0.0);
  for (var c = ${first}; c < width; c += ${step}) { let d = xOut[xb + c] - ${T}(mean); q += d * d; }
  let rstd = inverseSqrt(${total('lanes(q)')} / f32(p.cols) + p.eps);
  let out = p.yShift + row * width;
  for (var c = ${first}; c < width; c += ${step}) {
    y[out + c] = (xOut[xb + c] - ${T}(mean)) * rstd * gamma[p.gammaShift + c] + beta[p.betaShift + c];
  }
  ${v.rowPerThread ? '' : 'if (lid == 0u) '}{
    meanOut[p.meanOutShift + row] = mean;
    rstdOut[p.rstdOutShift + row] = rstd;
  }
}
`;
  const vector = read('f32', { vec4: v.vec4 });
  return {
    name: `addLayernormForward${v.vec4 ? '[vec4]' : ''}${v.rowPerThread ? '[row]' : ''}`,
    bindings: {
      a: vector, b: vector, gamma: vector, beta: vector,
      y: write('f32', { vec4: v.vec4 }), xOut: write('f32', { vec4: v.vec4 }), meanOut: write(), rstdOut: write(),
    },
    uniforms: { rows: 'u32', cols: 'u32', eps: 'f32' },
    workgroupSize: v.size,
    dispatch: rowsDispatch(v),
    code,
  };
});
