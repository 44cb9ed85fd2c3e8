// TEMPORARY (removed once every op is converted to shaders/kernel.ts descriptions):
// the old Program / Uniforms interface, so unconverted ops keep working meanwhile.
import type { Binding } from '../../shaders/kernel.js';
import type { Bound, Runtime } from './runtime.js';
import { textureFormat } from './pipelines.js';
export { grid } from './pipelines.js';

export type Access = 'read' | 'write' | 'texture' | 'storageTexture';

export interface Program {
  name: string;
  source: string;
  bindings: Access[];
}

const toBinding = (a: Access): Binding => a === 'read' ? { kind: 'storage', access: 'read', type: 'f32', vec4: false }
  : a === 'write' ? { kind: 'storage', access: 'read_write', type: 'f32', vec4: false } : a === 'texture' ? { kind: 'texture' } : { kind: 'storageTexture' };

export function legacyDispatch(rt: Runtime, program: Program, bindings: Bound[], uniforms: ArrayBuffer, workgroups: number | [number, number, number]): void {
  const kernel = {
    name: program.name, source: program.source, fields: [], key: program.name,
    bindings: Object.fromEntries(program.bindings.map((a, i) => [`b${i}`, toBinding(a)])),
  };
  (rt as unknown as { record(k: unknown, b: unknown[], u: ArrayBuffer, w: unknown): void }).record(kernel, bindings.map((b) => b.binding), uniforms, workgroups);
}

export function legacyScratchTexture(rt: Runtime, slot: string, width: number, height: number): GPUTexture {
  const store = rt.resources('legacy-scratch', () => {
    const textures = new Map<string, GPUTexture>();
    return { textures, bytes: () => [...textures.values()].reduce((s, t) => s + t.width * t.height * 16, 0), free: () => { for (const t of textures.values()) t.destroy(); textures.clear(); } };
  });
  let t = store.textures.get(slot);
  if (!t || t.width < width || t.height < height) {
    const grow = (need: number, had: number) => Math.max(had, Math.ceil(need / 64) * 64);
    const w = grow(width, t?.width ?? 0), h = grow(height, t?.height ?? 0);
    if (t) rt.retire(t);
    t = rt.device.createTexture({ size: [w, h], format: textureFormat, label: `scratch ${slot}`, usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST });
    store.textures.set(slot, t);
  }
  return t;
}

/** Packs a kernel's uniform block: 4-byte scalars in the order the WGSL struct declares them. */
export class Uniforms {
  private readonly words: number[] = [];
  private readonly kinds: ('u' | 'i' | 'f')[] = [];

  u32(...values: number[]): this {
    for (const v of values) { this.words.push(v >>> 0); this.kinds.push('u'); }
    return this;
  }

  i32(...values: number[]): this {
    for (const v of values) { this.words.push(v | 0); this.kinds.push('i'); }
    return this;
  }

  f32(...values: number[]): this {
    for (const v of values) { this.words.push(v); this.kinds.push('f'); }
    return this;
  }

  /** Bytes padded to 16, as WGSL rounds a uniform struct's size. */
  bytes(): ArrayBuffer {
    const n = Math.max(4, Math.ceil(this.words.length / 4) * 4);
    const buf = new ArrayBuffer(n * 4);
    const u = new Uint32Array(buf), i = new Int32Array(buf), f = new Float32Array(buf);
    this.words.forEach((w, k) => {
      const kind = this.kinds[k];
      if (kind === 'f') f[k] = w; else if (kind === 'i') i[k] = w; else u[k] = w;
    });
    return buf;
  }
}

