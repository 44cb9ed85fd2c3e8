import type { DType } from '../src/runtime/dtype.js';

/** `enable f16;` when a kernel touches f16 storage. */
export function enables(...dtypes: DType[]): string {
  return dtypes.includes('f16') ? 'enable f16;\n' : '';
}

/** WGSL storage element type. */
export function wgslType(dtype: DType): string {
  return dtype;
}

/**
 * The flat workgroup index of a launch laid out over x and y (see `grid` in
 * src/runtime/program.ts), which keeps every dimension under the 65,535 limit.
 */
export const flatWorkgroup = /* wgsl */ `
fn flatWorkgroup(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}
`;

export const mapWorkgroupSize = 256;

/**
 * An element-wise f32 kernel: out[i] = `expr` over the named inputs, each read at i, in two
 * widths. The vec4 one is what software adapters need: llvmpipe turns every storage access
 * into a per-lane loop with a bounds check, so one vec4 access costs about as much as one
 * scalar, and an add over 1M floats ran 6x faster with vec4 (23 ms against 4 ms, lavapipe).
 * `expr` and `helpers` are written once for both widths: `T` in them is f32 or vec4f, and
 * constants that meet a value in a builtin need it (`max(x, T(0.0))`).
 * Bindings: the inputs in order, then out, then Params { count (in elements of the width),
 * one shift per input, the out shift, then the f32 `params` by name }.
 */
export interface MapSources {
  scalar: string;
  vec4: string;
}

export function mapSource(inputs: string[], expr: string, { helpers = '', params = [] as string[] } = {}): MapSources {
  const make = (T: 'f32' | 'vec4f') => {
    const n = inputs.length;
    const fields = ['count: u32', ...inputs.map((name) => `${name}Shift: u32`), 'outShift: u32', ...params.map((p) => `${p}: f32`)];
    const sub = (text: string) => text.replace(/\bT\b/g, T);
    return /* wgsl */ `
struct Params { ${fields.join(', ')} }
${inputs.map((name, i) => `@group(0) @binding(${i}) var<storage, read> ${name}Data: array<${T}>;`).join('\n')}
@group(0) @binding(${n}) var<storage, read_write> out: array<${T}>;
@group(0) @binding(${n + 1}) var<uniform> params: Params;
${flatWorkgroup}
${sub(helpers)}
@compute @workgroup_size(${mapWorkgroupSize})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * ${mapWorkgroupSize}u + lid;
  if (i >= params.count) { return; }
  ${inputs.map((name) => `let ${name} = ${name}Data[params.${name}Shift + i];`).join('\n  ')}
  out[params.outShift + i] = ${sub(expr)};
}
`;
  };
  return { scalar: make('f32'), vec4: make('vec4f') };
}

/**
 * `fn workgroupSum(v, lid) -> f32` and `fn workgroupMax(v, lid) -> f32`: the sum or max of
 * `v` over the workgroup, returned to every invocation (a tree in workgroup memory, so a
 * sum's error grows with log2 of the size). Call them from uniform control flow, with
 * `size` a power of two.
 */
export function workgroupReduce(size: number): string {
  const tree = (name: string, combine: string) => /* wgsl */ `
fn ${name}(v: f32, lid: u32) -> f32 {
  reduceScratch[lid] = v;
  workgroupBarrier();
  for (var stride = ${size / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { reduceScratch[lid] = ${combine}; }
    workgroupBarrier();
  }
  let total = reduceScratch[0];
  workgroupBarrier();
  return total;
}`;
  return `var<workgroup> reduceScratch: array<f32, ${size}>;
${tree('workgroupSum', 'reduceScratch[lid] + reduceScratch[lid + stride]')}
${tree('workgroupMax', 'max(reduceScratch[lid], reduceScratch[lid + stride])')}
`;
}

/** The largest power of two up to `cap` that fits the adapter's workgroup size limit. */
export function powerOfTwoWorkgroup(maxInvocations: number, cap = 256): number {
  let size = cap;
  while (size > maxInvocations) size /= 2;
  return size;
}
