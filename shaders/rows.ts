import { workgroupReduce } from './common.js';
import type { Bindings, KernelSpec, UniformType } from './kernel.js';

// What LayerNorm's and softmax's kernels share: the variant (workgroup size, a row per
// invocation or per workgroup, scalar or vec4), the WGSL pieces a row-wise body is made of,
// and the description around that body.

/** A row-wise kernel's variant: its workgroup size, and a row per invocation rather than per workgroup. */
export interface RowVariant {
  size: number;
  rowPerThread: boolean;
}

/**
 * A row-wise kernel's variant with its access width: `vec4` reads and writes four columns
 * an access (cols a multiple of 4, every row-long binding starting on a vec4). On software
 * adapters every storage access is a per-lane loop with a bounds check, so a vec4 costs
 * about as much as a scalar (see mapKernel in common.ts): the vec4 kernels make a quarter
 * of the accesses. On a GPU they are 16-byte loads, coalesced across a row's workgroup.
 */
export interface VecRowVariant extends RowVariant {
  vec4: boolean;
}

/** Workgroups of a row-wise launch: one a row, or one per `size` rows with a row per invocation. */
export const rowsDispatch = ({ size, rowPerThread }: RowVariant) => (u: { rows: number }) => (rowPerThread ? Math.ceil(u.rows / size) : u.rows);

/**
 * The WGSL every row-wise kernel is made of, for one variant (LayerNorm's and softmax's):
 * `T` (f32 or vec4f; `cols` still counts scalars, `width` counts T), the helpers
 * (`lanesSum`, `lanesMax` of a T, and the workgroup reductions), the opening of main
 * (`row` and `width`), a loop over this invocation's columns `c` of the row (in units of
 * T), the row's total or max of a per-invocation f32, and a block run once a row.
 */
export function rowParts(v: VecRowVariant) {
  const T = v.vec4 ? 'vec4f' : 'f32';
  const [first, step] = v.rowPerThread ? ['0u', '1u'] : ['lid', `${v.size}u`];
  return {
    T,
    helpers: /* wgsl */ `${v.rowPerThread ? '' : workgroupReduce(v.size)}
fn lanesSum(v: ${T}) -> f32 {
  return ${v.vec4 ? 'v.x + v.y + v.z + v.w' : 'v'};
}
fn lanesMax(v: ${T}) -> f32 {
  return ${v.vec4 ? 'max(max(v.x, v.y), max(v.z, v.w))' : 'v'};
}`,
    /** The row index (uniform over a row's workgroup, so returning early keeps the barriers uniform). */
    start: /* wgsl */ `let row = ${v.rowPerThread ? `flatWorkgroup(wid, nwg) * ${v.size}u + lid` : 'flatWorkgroup(wid, nwg)'};
  if (row >= p.rows) { return; }
  let width = p.cols / ${v.vec4 ? 4 : 1}u;`,
    loop: (body: string) => `for (var c = ${first}; c < width; c += ${step}) {\n    ${body}\n  }`,
    sum: (x: string) => (v.rowPerThread ? x : `workgroupSum(${x}, lid)`),
    max: (x: string) => (v.rowPerThread ? x : `workgroupMax(${x}, lid)`),
    once: (body: string) => `${v.rowPerThread ? '' : 'if (lid == 0u) '}{\n    ${body}\n  }`,
  };
}

/** The row-wise kernels' entry point (`wid`, `nwg`, `lid`). */
export const mainSignature = 'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32)';

/**
 * A row-wise kernel's description from its bindings, uniforms (`rows` among them: the
 * dispatch rule counts rows) and body (the code after `row` and `width` are set; build it
 * from `parts`): its name is `base` with the variant's tags ([vec4], [row]), its workgroup
 * the variant's size.
 */
export function rowKernel<B extends Bindings, U extends { rows: 'u32' } & Record<string, UniformType>>(
  base: string, v: VecRowVariant, spec: { bindings: B; uniforms: U; body: (parts: RowParts) => string },
): KernelSpec<B, U> {
  const parts = rowParts(v);
  return {
    name: `${base}${v.vec4 ? '[vec4]' : ''}${v.rowPerThread ? '[row]' : ''}`,
    bindings: spec.bindings,
    uniforms: spec.uniforms,
    workgroupSize: v.size,
    dispatch: rowsDispatch(v),
    code: /* wgsl */ `
${parts.helpers}
${mainSignature} {
  ${parts.start}
  ${spec.body(parts)}
}
`,
  };
}

export type RowParts = ReturnType<typeof rowParts>;
