import { kernel, read, write, type Kernel } from './kernel.js';
import type { ScalarType } from './kernel.js';

/** `enable f16;` when a kernel touches f16 storage. */
export function enables(...types: ScalarType[]): string {
  return types.includes('f16') ? 'enable f16;\n' : '';
}

export const mapWorkgroupSize = 256;

/**
 * Elements (of the kernel's width) per invocation of an element-wise kernel, a workgroup's
 * block strided by the workgroup size (neighbouring invocations take neighbouring
 * elements, as a GPU coalesces). On llvmpipe an invocation's fixed cost is several times
 * a vec4's load, add and store: GELU over 4096 x 3072 ran 2.9-3.3 GB/s with one vec4 per
 * invocation and 4.7-5.1 with 16 (lavapipe, medians of 9, runs interleaved, shared 2-core
 * machine).
 */
export const mapElementsPerThread = 16;
const mapBlock = mapWorkgroupSize * mapElementsPerThread;

/**
 * An element-wise f32 kernel: out[i] = `expr` over the named inputs, each read at i, in two
 * widths. The vec4 one is what software adapters need: llvmpipe turns every storage access
 * into a per-lane loop with a bounds check, so one vec4 access costs about as much as one
 * scalar, and an add over 1M floats ran 6x faster with vec4 (23 ms against 4 ms, lavapipe).
 * `expr` and `helpers` are written once for both widths: `T` in them is f32 or vec4f, and
 * constants that meet a value in a builtin need it (`max(x, T(0.0))`); the f32 `params`
 * are uniforms (`p.name` in expr). Input `x` is bound as `xData`, the output as `out`.
 */
export interface MapKernel {
  name: string;
  inputs: string[];
  params: string[];
  scalar: Kernel;
  vec4: Kernel;
}

export function mapKernel(name: string, inputs: string[], expr: string, { helpers = '', params = [] as string[] } = {}): MapKernel {
  const make = (vec4: boolean) => {
    const T = vec4 ? 'vec4f' : 'f32';
    const sub = (text: string) => text.replace(/\bT\b/g, T);
    const bindings = Object.fromEntries([...inputs.map((n) => [`${n}Data`, read('f32', { vec4 })]), ['out', write('f32', { vec4 })]]);
    return kernel({
      name: `${name}${vec4 ? '[vec4]' : ''}`,
      bindings,
      uniforms: Object.fromEntries([['count', 'u32'], ...params.map((q) => [q, 'f32'])]),
      workgroupSize: mapWorkgroupSize,
      dispatch: (u) => Math.ceil(u.count! / mapBlock),
      code: /* wgsl */ `
${sub(helpers)}
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let block = flatWorkgroup(wid, nwg) * ${mapBlock}u;
  for (var j = 0u; j < ${mapElementsPerThread}u; j++) {
    let i = block + j * ${mapWorkgroupSize}u + lid;
    if (i >= p.count) { return; }
    ${inputs.map((n) => `let ${n} = ${n}Data[p.${n}DataShift + i];`).join('\n    ')}
    out[p.outShift + i] = ${sub(expr)};
  }
}
`,
    }, `map:${name}:${vec4}`);
  };
  return { name, inputs, params, scalar: make(false), vec4: make(true) };
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
