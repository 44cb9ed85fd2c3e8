/**
 * A kernel program: its WGSL (built from a template in shaders/), its storage buffer and
 * texture bindings in order, then one uniform block at binding `bindings.length` that holds its sizes.
 * Pipelines are cached by what changes the source, never by the data.
 */
export type Access = 'read' | 'write' | 'texture' | 'storageTexture';

/** rgba32float: four f32 per texel, the one float format every adapter can read and store. */
export const textureFormat: GPUTextureFormat = 'rgba32float';

function layoutEntry(access: Access, binding: number): GPUBindGroupLayoutEntry {
  const visibility = GPUShaderStage.COMPUTE;
  switch (access) {
    case 'read': return { binding, visibility, buffer: { type: 'read-only-storage' } };
    case 'write': return { binding, visibility, buffer: { type: 'storage' } };
    case 'texture': return { binding, visibility, texture: { sampleType: 'unfilterable-float', viewDimension: '2d' } };
    case 'storageTexture': return { binding, visibility, storageTexture: { access: 'write-only', format: textureFormat, viewDimension: '2d' } };
  }
}

export interface Program {
  /** Names the kernel in labels and error messages, e.g. 'matmul[f32,tB]'. */
  name: string;
  source: string;
  bindings: Access[];
  entryPoint?: string;
}

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

  layoutFor(bindings: Access[]): GPUBindGroupLayout {
    const key = bindings.join(',');
    let layout = this.layouts.get(key);
    if (!layout) {
      const entries = bindings.map(layoutEntry);
      entries.push({ binding: bindings.length, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } });
      layout = this.device.createBindGroupLayout({ entries, label: `layout(${key})` });
      this.layouts.set(key, layout);
    }
    return layout;
  }

  get(program: Program): GPUComputePipeline {
    const entryPoint = program.entryPoint ?? 'main';
    const key = `${entryPoint}\n${program.bindings.join(',')}\n${program.source}`;
    let pipeline = this.pipelines.get(key);
    if (pipeline) return pipeline;
    const device = this.device;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code: program.source, label: program.name });
    pipeline = device.createComputePipeline({
      label: program.name,
      layout: device.createPipelineLayout({ bindGroupLayouts: [this.layoutFor(program.bindings)] }),
      compute: { module, entryPoint },
    });
    const name = program.name;
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
