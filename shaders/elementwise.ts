import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { kernelFamily, read, write, type ScalarType } from './kernel.js';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

const binaryExpr: Record<BinaryOp, string> = { add: 'x + y', sub: 'x - y', mul: 'x * y', div: 'x / y' };

export const elementwiseWorkgroupSize = 256;

export interface BinaryVariant {
  op: BinaryOp;
  dtype: ScalarType;
  vec4: boolean;
}

/**
 * out[i] = a[i] op b[(bStart + i) % bPeriod]: b broadcasts along the leading dims of a
 * when its shape is a suffix of a's. Indices carry each binding's alignment shift. The
 * vec4 variant counts everything in vec4s (see mapKernel in common.ts for why it matters
 * on llvmpipe): count, bPeriod and bStart are passed already divided by 4.
 */
export const binaryKernel = kernelFamily('binary', ({ op, dtype, vec4 }: BinaryVariant) => ({
  name: `${op}[${dtype}${vec4 ? ',vec4' : ''}]`,
  bindings: { a: read(dtype, { vec4 }), b: read(dtype, { vec4 }), out: write(dtype, { vec4 }) },
  uniforms: { count: 'u32', bPeriod: 'u32', bStart: 'u32' },
  workgroupSize: elementwiseWorkgroupSize,
  dispatch: (u) => Math.ceil(u.count / elementwiseWorkgroupSize),
  code: /* wgsl */ `
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * ${elementwiseWorkgroupSize}u + lid;
  if (i >= p.count) { return; }
  let x = a[p.aShift + i];
  let y = b[p.bShift + (p.bStart + i) % p.bPeriod];
  out[p.outShift + i] = ${binaryExpr[op]};
}
`,
}));

/** out[i] = a[i] * alpha + beta, computed in f32. */
export const affineKernel = kernelFamily('affine', (dtype: ScalarType) => ({
  name: `scale[${dtype}]`,
  bindings: { a: read(dtype), out: write(dtype) },
  uniforms: { count: 'u32', alpha: 'f32', beta: 'f32' },
  workgroupSize: elementwiseWorkgroupSize,
  dispatch: (u) => Math.ceil(u.count / elementwiseWorkgroupSize),
  code: wgsl`
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * ${elementwiseWorkgroupSize}u + lid;
  if (i >= p.count) { return; }
#if ${dtype === 'f32'}
  out[p.outShift + i] = a[p.aShift + i] * p.alpha + p.beta;
#else
  out[p.outShift + i] = ${dtype}(f32(a[p.aShift + i]) * p.alpha + p.beta);
#endif
}
`,
}));
