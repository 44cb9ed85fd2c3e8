import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { mapWorkgroupSize, workgroupReduce } from './common.js';
import { kernel, kernelFamily, read, write } from './kernel.js';

/**
 * x viewed as [outer, groups, inner], times mask[group]: the head mask on the attention
 * context [batch, heads, seq, headDim] (groups = heads), the neuron mask on the FFN
 * activation [tokens, neurons] (inner = 1). `start` is the first element of this launch.
 */
export const applyMaskKernel = kernel({
  name: 'applyMask',
  bindings: { x: read(), mask: read(), out: write() },
  uniforms: { count: 'u32', start: 'u32', groups: 'u32', inner: 'u32' },
  workgroupSize: mapWorkgroupSize,
  dispatch: (u) => Math.ceil(u.count / mapWorkgroupSize),
  code: /* wgsl */ `
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * ${mapWorkgroupSize}u + lid;
  if (i >= p.count) { return; }
  let group = ((p.start + i) / p.inner) % p.groups;
  out[p.outShift + i] = x[p.xShift + i] * mask[p.maskShift + group];
}
`,
});

export interface MaskGradientVariant {
  size: number;
  /**
   * One invocation per (example, group), looping over its terms, rather than a workgroup
   * with a tree: for few terms a group (the neuron mask of a short batch: seq terms), where
   * a workgroup per output left most lanes idle (1.18 million workgroups of 64 for one
   * BERT-base call at 4 tokens), and on CPU adapters, where a barrier is a coroutine switch.
   * Neighbouring invocations take neighbouring groups, so their reads are contiguous.
   */
  perThread: boolean;
}

/**
 * The gradient of a mask, per example (docs/method.md step 1): for x viewed as
 * [batch, pre, groups, inner], out[b * outStride + j] = Σ_{pre, inner} a ⊙ g over the
 * entries of group j, with a the masked tensor's input and g the upstream gradient.
 */
export const maskGradientKernel = kernelFamily('maskGradient', (v: MaskGradientVariant) => ({
  name: `maskGradient${v.perThread ? '[thread]' : ''}`,
  bindings: { a: read(), g: read(), out: write() },
  uniforms: { batch: 'u32', pre: 'u32', groups: 'u32', inner: 'u32', outStride: 'u32' },
  workgroupSize: v.size,
  dispatch: (u) => (v.perThread ? Math.ceil(u.batch * u.groups / v.size) : u.batch * u.groups),
  code: v.perThread ? /* wgsl */ `
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let id = flatWorkgroup(wid, nwg) * ${v.size}u + lid;
  if (id >= p.batch * p.groups) { return; }
  let b = id / p.groups;
  let j = id % p.groups;
  var s = 0.0;
  for (var q = 0u; q < p.pre; q++) {
    let base = ((b * p.pre + q) * p.groups + j) * p.inner;
    for (var t = 0u; t < p.inner; t++) { s += a[p.aShift + base + t] * g[p.gShift + base + t]; }
  }
  out[p.outShift + b * p.outStride + j] = s;
}
` : /* wgsl */ `
${workgroupReduce(v.size)}
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let id = flatWorkgroup(wid, nwg);
  if (id >= p.batch * p.groups) { return; }
  let b = id / p.groups;
  let j = id % p.groups;
  let terms = p.pre * p.inner;
  var s = 0.0;
  for (var t = lid; t < terms; t += ${v.size}u) {
    let q = t / p.inner;
    let i = ((b * p.pre + q) * p.groups + j) * p.inner + t % p.inner;
    s += a[p.aShift + i] * g[p.gShift + i];
  }
  let total = workgroupSum(s, lid);
  if (lid == 0u) { out[p.outShift + b * p.outStride + j] = total; }
}
`,
}));

/**
 * Empirical Fisher diagonal, accumulated in place: fisher[j] += Σ_b grads[b, j]² (per
 * example), or (Σ_b grads[b, j])² when the batch is one sample (the reference code's
 * per-batch variant).
 */
export const fisherAccumulateKernel = kernelFamily('fisherAccumulate', (perBatch: boolean) => ({
  name: `fisherAccumulate${perBatch ? '[per batch]' : ''}`,
  bindings: { grads: read(), fisher: write() },
  uniforms: { count: 'u32', batch: 'u32' },
  workgroupSize: mapWorkgroupSize,
  dispatch: (u) => Math.ceil(u.count / mapWorkgroupSize),
  code: wgsl`
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let j = flatWorkgroup(wid, nwg) * ${mapWorkgroupSize}u + lid;
  if (j >= p.count) { return; }
  var s = 0.0;
  for (var b = 0u; b < p.batch; b++) {
    let v = grads[p.gradsShift + b * p.count + j];
#if ${perBatch}
    s += v;
#else
    s += v * v;
#endif
  }
#if ${perBatch}
  fisher[p.fisherShift + j] += s * s;
#else
  fisher[p.fisherShift + j] += s;
#endif
}
`,
}));
