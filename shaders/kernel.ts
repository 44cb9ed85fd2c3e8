/**
 * One description per kernel: its bindings by name, its uniforms by name and type, its
 * workgroup size and dispatch rule, and its WGSL body. The declarations the body uses
 * (`struct Params`, one `var` per binding, the uniform block `p`) are generated from the
 * description, and the runtime's one launch path (`Runtime.launch`) packs the uniforms and
 * checks the bindings by the same names, so the interface is written once.
 *
 * Every storage binding `x` also gets a uniform `p.xShift`: the element offset of the
 * tensor's data inside the bound range (bindings start on the device's offset alignment),
 * in units of the binding's element type (vec4 bindings: vec4s). The launch fills it.
 *
 * This folder holds WGSL and its descriptions only; src/ops imports from it, never the
 * other way (TensorFlow.js's WebGPUProgram and Ratchet's kernel metadata are the models).
 */

export type ScalarType = 'f32' | 'f16' | 'i32' | 'u32';

export type Binding =
  | { kind: 'storage'; access: 'read' | 'read_write'; type: ScalarType; vec4: boolean }
  | { kind: 'texture' }
  | { kind: 'storageTexture' };

/** A read-only storage array of `type` (of vec4s with `vec4`). */
export function read(type: ScalarType = 'f32', { vec4 = false } = {}): Binding {
  return { kind: 'storage', access: 'read', type, vec4 };
}

/** A read-write storage array (outputs, and in-place accumulators). */
export function write(type: ScalarType = 'f32', { vec4 = false } = {}): Binding {
  return { kind: 'storage', access: 'read_write', type, vec4 };
}

/** A sampled rgba32float texture, read with textureLoad. */
export const texture: Binding = { kind: 'texture' };

/** A write-only rgba32float storage texture. */
export const storageTexture: Binding = { kind: 'storageTexture' };

export type UniformType = 'u32' | 'i32' | 'f32';

export type Workgroups = number | [number, number, number];

export type Bindings = Record<string, Binding>;
export type Uniforms = Record<string, UniformType>;

/** A launch's uniform values, by the kernel's names (checked by the compiler). */
export type UniformValues<U extends Uniforms> = { readonly [K in keyof U]: number };

export interface KernelSpec<B extends Bindings = Bindings, U extends Uniforms = Uniforms> {
  /** Names the kernel in labels and error messages, e.g. 'matmul[f32,Bᵀ]'. */
  name: string;
  /** In binding order; the uniform block takes the next binding. */
  bindings: B;
  /** The fields of `p`, in order (the bindings' shifts follow them). */
  uniforms?: U;
  workgroupSize: number | readonly [number, number];
  /**
   * Workgroups of a launch, from its uniforms (shifts included): a flat count, laid out
   * over x and y under the device's per-dimension limit (`grid`; the body recovers it with
   * `flatWorkgroup`), or x, y, z. A launch may pass its own instead (a split grid).
   */
  dispatch: (u: UniformValues<U>) => Workgroups;
  /** WGSL extensions beyond what the bindings' types imply. */
  enable?: ('subgroups' | 'f16')[];
  /**
   * Helper functions, then `fn main(...)`; the generated source puts the declarations
   * before it and `@compute @workgroup_size(...)` on main.
   */
  code: string;
}

export interface Kernel<B extends Bindings = Bindings, U extends Uniforms = Uniforms> extends KernelSpec<B, U> {
  /** What makes this variant's source: its family and variant (pipelines cache by source). */
  key: string;
  /** Uniform fields in struct order, with their types: the declared ones, then the shifts. */
  fields: [string, UniformType][];
  source: string;
}

/**
 * The flat workgroup index of a launch laid out over x and y (see `grid` in
 * src/runtime/launch.ts), which keeps every dimension under the 65,535 limit.
 */
export const flatWorkgroup = /* wgsl */ `
fn flatWorkgroup(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}
`;

function elementType(b: Extract<Binding, { kind: 'storage' }>): string {
  return b.vec4 ? `vec4<${b.type}>` : b.type;
}

function declaration(name: string, b: Binding, index: number): string {
  const at = `@group(0) @binding(${index})`;
  switch (b.kind) {
    case 'storage': return `${at} var<storage, ${b.access}> ${name}: array<${elementType(b)}>;`;
    case 'texture': return `${at} var ${name}: texture_2d<f32>;`;
    case 'storageTexture': return `${at} var ${name}: texture_storage_2d<rgba32float, write>;`;
  }
}

/** Builds a kernel from its description: the uniform fields and the complete WGSL. */
export function kernel<B extends Bindings, U extends Uniforms = Record<never, UniformType>>(spec: KernelSpec<B, U>, key = spec.name): Kernel<B, U> {
  const names = Object.keys(spec.bindings);
  const fields: [string, UniformType][] = Object.entries<UniformType>(spec.uniforms ?? {});
  for (const [name, b] of Object.entries(spec.bindings)) if (b.kind === 'storage') fields.push([`${name}Shift`, 'u32']);
  const seen = new Set<string>();
  for (const [f] of fields) {
    if (seen.has(f)) throw new Error(`kernel ${spec.name}: uniform ${f} is declared twice`);
    seen.add(f);
  }
  const mains = spec.code.split(/\bfn main\(/).length - 1;
  if (mains !== 1) throw new Error(`kernel ${spec.name}: the code must define fn main once (found ${mains})`);
  const enable = new Set(spec.enable ?? []);
  if (Object.values(spec.bindings).some((b) => b.kind === 'storage' && b.type === 'f16')) enable.add('f16');
  const wg = typeof spec.workgroupSize === 'number' ? [spec.workgroupSize] : spec.workgroupSize;
  const body = spec.code.replace(/\bfn main\(/, `@compute @workgroup_size(${wg.join(', ')})\nfn main(`);
  const source = [
    ...[...enable].sort().map((e) => `enable ${e};`),
    // WGSL has no empty struct; a kernel without uniforms still gets its block.
    `struct Params { ${fields.length ? fields.map(([f, t]) => `${f}: ${t}`).join(', ') : 'unused: u32'} }`,
    ...names.map((name, i) => declaration(name, spec.bindings[name]!, i)),
    `@group(0) @binding(${names.length}) var<uniform> p: Params;`,
    ...(/\bflatWorkgroup\(/.test(body) ? [flatWorkgroup] : []),
    body,
  ].join('\n');
  return { ...spec, key, fields, source };
}

/**
 * A family of kernels made from a variant (a plain object or value: the cache key is its
 * JSON): each variant's description and source is built once.
 */
export function kernelFamily<V, B extends Bindings, U extends Uniforms = Record<never, UniformType>>(
  family: string, make: (variant: V) => KernelSpec<B, U>,
): (variant: V) => Kernel<B, U> {
  const made = new Map<string, Kernel<B, U>>();
  return (variant: V) => {
    const key = `${family}:${JSON.stringify(variant)}`;
    let k = made.get(key);
    if (!k) made.set(key, (k = kernel(make(variant), key)));
    return k;
  };
}
