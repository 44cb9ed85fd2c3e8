import type { Binding, Kernel, UniformType } from '../../shaders/kernel.js';
import { KernelError } from './errors.js';

/** rgba32float: four f32 per texel, the one float format every adapter can read and store. */
export const textureFormat: GPUTextureFormat = 'rgba32float';

function layoutEntry(b: Binding, binding: number): GPUBindGroupLayoutEntry {
  const visibility = GPUShaderStage.COMPUTE;
  switch (b.kind) {
    case 'storage': return { binding, visibility, buffer: { type: b.access === 'read' ? 'read-only-storage' : 'storage' } };
    case 'texture': return { binding, visibility, texture: { sampleType: 'unfilterable-float', viewDimension: '2d' } };
    case 'storageTexture': return { binding, visibility, storageTexture: { access: 'write-only', format: textureFormat, viewDimension: '2d' } };
  }
}

/** What pipelines and uniform packing need of a kernel (any variant, whatever its names). */
type KernelCode = Pick<Kernel, 'name' | 'bindings' | 'fields' | 'source'>;

const layoutKey = (b: Binding) => (b.kind === 'storage' ? b.access : b.kind);

/** Pipelines and bind group layouts of kernels (shaders/kernel.ts), cached by what changes them: the source, never the data. */
export class PipelineCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  /** Shader or pipeline errors found asynchronously; the runtime reports them at the next sync. */
  readonly errors: Error[] = [];
  /** Error scopes of pipelines not yet reported; a sync waits for them. */
  readonly checks = new Set<Promise<void>>();

  constructor(private readonly device: GPUDevice, private readonly makeError: (msg: string) => Error) {}

  get size(): number {
    return this.pipelines.size;
  }

  layoutFor(kernel: KernelCode): GPUBindGroupLayout {
    const bindings = Object.values(kernel.bindings);
    const key = bindings.map(layoutKey).join(',');
    let layout = this.layouts.get(key);
    if (!layout) {
      const entries = bindings.map(layoutEntry);
      entries.push({ binding: bindings.length, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } });
      layout = this.device.createBindGroupLayout({ entries, label: `layout(${key})` });
      this.layouts.set(key, layout);
    }
    return layout;
  }

  get(kernel: KernelCode): GPUComputePipeline {
    const key = `${Object.values(kernel.bindings).map(layoutKey).join(',')}\n${kernel.source}`;
    let pipeline = this.pipelines.get(key);
    if (pipeline) return pipeline;
    const device = this.device;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code: kernel.source, label: kernel.name });
    pipeline = device.createComputePipeline({
      label: kernel.name,
      layout: device.createPipelineLayout({ bindGroupLayouts: [this.layoutFor(kernel)] }),
      compute: { module, entryPoint: 'main' },
    });
    const name = kernel.name;
    const check = device.popErrorScope().then(async (error) => {
      if (!error) return;
      let detail = error.message;
      try {
        const info = await module.getCompilationInfo();
        const lines = info.messages.filter((m) => m.type === 'error').map((m) => `line ${m.lineNum}: ${m.message}`);
        if (lines.length) detail = lines.join('; ');
      } catch { /* the scope's message is enough */ }
      this.errors.push(this.makeError(`kernel ${name} failed to compile: ${detail}`));
    }, () => {});
    this.checks.add(check);
    void check.finally(() => this.checks.delete(check));
    this.pipelines.set(key, pipeline);
    return pipeline;
  }
}

/**
 * A launch's uniform block: `values` by the kernel's field names (every field, no other
 * name), 4-byte scalars in struct order, padded to 16 bytes as WGSL rounds a uniform
 * struct. Throws on a missing, unknown or unrepresentable value, naming the kernel.
 */
export function packUniforms(kernel: KernelCode, values: Readonly<Record<string, number>>): ArrayBuffer {
  const n = Math.max(4, Math.ceil(kernel.fields.length / 4) * 4);
  const buf = new ArrayBuffer(n * 4);
  const u = new Uint32Array(buf), i = new Int32Array(buf), f = new Float32Array(buf);
  const known = new Set<string>();
  kernel.fields.forEach(([name, type], k) => {
    known.add(name);
    const v = values[name];
    if (v === undefined) throw new KernelError(`kernel ${kernel.name}: uniform ${name} was not given`);
    if (!representable(v, type)) throw new KernelError(`kernel ${kernel.name}: uniform ${name} = ${v} is not a ${type}`);
    if (type === 'f32') f[k] = v; else if (type === 'i32') i[k] = v; else u[k] = v;
  });
  for (const name of Object.keys(values)) if (!known.has(name)) throw new KernelError(`kernel ${kernel.name} has no uniform ${name}`);
  return buf;
}

function representable(v: number, type: UniformType): boolean {
  if (type === 'f32') return !Number.isNaN(v);
  if (!Number.isInteger(v)) return false;
  return type === 'u32' ? v >= 0 && v <= 0xffffffff : v >= -0x80000000 && v <= 0x7fffffff;
}

/**
 * Lays `count` workgroups out over x and y so that no dimension passes the device's
 * per-dimension limit (65,535 on most adapters). Shaders recover the flat index as
 * `wid.x + wid.y * nwg.x` and skip indices at or past `count`.
 */
export function grid(count: number, maxPerDimension: number, z = 1): [number, number, number] {
  if (count <= maxPerDimension) return [Math.max(1, count), 1, z];
  const y = Math.ceil(count / maxPerDimension);
  const x = Math.ceil(count / y);
  return [x, y, z];
}
