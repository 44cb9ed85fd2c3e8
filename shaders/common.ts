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
