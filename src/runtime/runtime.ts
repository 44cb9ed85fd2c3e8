import { acquireGpu, type AdapterReport, type DeviceFeatures, type DeviceLimits, type Gpu, type GpuOptions } from './gpu.js';
import { bytesPerElement, checkDType, hostArrayFor, fromHalfBits, toHalfBits, type DType, type HostArray } from './dtype.js';
import { DeviceLostError, DisposedError, DTypeError, KernelError, LimitError, ShapeError, WgpruneError } from './errors.js';
import { BufferPool, type PoolStats } from './pool.js';
import { PipelineCache, grid, packUniforms } from './pipelines.js';
import { KernelProfiler, maxProfiledLaunches, type KernelTime } from './profiler.js';
import { Storage, Tensor, checkShape, shapeString, sizeOf, type Shape, type TensorHost } from './tensor.js';
import { patientWait } from './poll.js';
import { fillWordsKernel } from '../../shaders/fill.js';
import type { Bindings, Kernel, UniformValues, Uniforms, Workgroups } from '../../shaders/kernel.js';

export interface RuntimeOptions extends GpuOptions {
  /**
   * Limits lower than the adapter's. Tests use a tiny binding size and dispatch limit so
   * that the splitting paths run on small tensors.
   */
  limits?: Partial<Pick<DeviceLimits, 'maxStorageBufferBindingSize' | 'maxComputeWorkgroupsPerDimension' | 'maxTextureDimension2D'>>;
  /** Fill every new tensor with NaN bits, so a kernel that misses an element fails its test. */
  poison?: boolean;
  /** Submit once this many dispatches are recorded (bounds the memory of a long step). */
  maxPendingDispatches?: number;
  /**
   * Time every kernel on the device (timestamp queries; see src/runtime/profiler.ts and
   * `profile()`). Default: the environment's WGPRUNE_PROFILE=1 in Node, else off.
   */
  profile?: boolean;
  /**
   * Free bytes the buffer pool keeps for reuse even below its peak of live bytes (default
   * 64 MiB); past max(this, the peak), the least recently released buffers are freed.
   */
  poolFloorBytes?: number;
  /**
   * Kernel choices that otherwise follow the adapter; tests force each way. What is given
   * here always wins over what kernel tuning (src/ops/autotune.ts) measures.
   */
  tuning?: Partial<Tuning>;
}

export interface Tuning {
  /**
   * Row-wise kernels (softmax, LayerNorm) run a row per invocation rather than a workgroup
   * per row. Default: on CPU adapters, where a workgroup barrier is a coroutine switch.
   */
  rowPerThread: boolean;
  /**
   * The matmul kernel to use where the shape allows it (src/ops/matmul.ts). Default: the
   * texture kernel on CPU adapters; GPUs run the general one whatever this says.
   */
  matmulKernel?: 'texture' | 'subgroup' | 'general';
  /**
   * The matmul kernel per shape class (`matmulShapeClass` in src/ops/matmul.ts), as kernel
   * tuning (src/ops/autotune.ts) measured it on this adapter; consulted after
   * `matmulKernel` and before the default. A kernel the shape cannot take passes to the next.
   */
  matmulChoices?: Record<string, 'texture' | 'subgroup' | 'general'>;
}

export interface RuntimeStats extends PoolStats {
  tensors: number;
  /** Bytes held by ops' own resources on this runtime (see `resources`): matmul's textures. */
  textureBytes: number;
  pipelines: number;
  submits: number;
}

/**
 * A binding: part of a tensor's buffer, with `shift` the element offset the kernel must
 * add and the tensor's dtype; or a texture's view (shift 0, no dtype) with the kind of
 * binding it was made for, a sampled texture or a storage texture.
 */
export interface Bound {
  binding: GPUBufferBinding | GPUTextureView;
  shift: number;
  dtype?: DType;
  texture?: 'texture' | 'storageTexture';
}

const bindingWords = { storage: 'a storage buffer', texture: 'a sampled texture', storageTexture: 'a storage texture' } as const;

type Entry =
  | { kind: 'dispatch'; name: string; pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; bindings: (GPUBufferBinding | GPUTextureView)[]; uniforms: ArrayBuffer; workgroups: [number, number, number] }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number }
  | { kind: 'copyToTexture'; src: GPUBuffer; srcOffset: number; bytesPerRow: number; dst: GPUTexture; width: number; height: number };

/**
 * What an op keeps on a runtime between launches (matmul's operand textures): it reports
 * its bytes for `stats`, and `free` releases everything (trim, destroy).
 */
export interface OpResources {
  bytes(): number;
  free(): void;
}

/** What tidy may return: tensors found anywhere inside it pass to the enclosing scope. */
type Tidyable = Tensor | readonly unknown[] | object | number | string | boolean | null | undefined | void;

const MAP_READ_USAGE = () => GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
const STORAGE_USAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  return new Runtime(await acquireGpu(options), options);
}

/**
 * Owns the device, the buffer pool and the pipeline cache, and records kernel launches:
 * launches and copies go into one list that `flush` encodes as one command buffer and one
 * submit. Reads flush, then wait for the copy with the device's loss raced against it.
 */
export class Runtime {
  readonly device: GPUDevice;
  readonly adapter: AdapterReport;
  readonly limits: DeviceLimits;
  readonly features: DeviceFeatures;
  readonly tuning: Tuning;
  /** The choices `RuntimeOptions.tuning` gave: kernel tuning leaves these alone. */
  readonly explicitTuning: Readonly<Partial<Tuning>>;
  private readonly gpu: Gpu;
  private readonly pool: BufferPool;
  private readonly staging: BufferPool;
  private readonly cache: PipelineCache;
  private readonly poison: boolean;
  private maxPending: number;
  private readonly profiler: KernelProfiler | null = null;
  private pending: Entry[] = [];
  private uploads: GPUBuffer[] = [];
  private uniformArena: GPUBuffer | null = null;
  private readonly resourcesByOp = new Map<string, OpResources>();
  private retired: { destroy(): void }[] = [];
  private readonly scopes: Set<Tensor>[] = [];
  private readonly errors: Error[] = [];
  private readonly errorChecks = new Set<Promise<void>>();
  private readonly lostSignal: Promise<never>;
  private lostMessage: string | null = null;
  private destroyed = false;
  private liveTensors = 0;
  private submitCount = 0;

  constructor(gpu: Gpu, options: RuntimeOptions = {}) {
    this.gpu = gpu;
    this.device = gpu.device;
    this.adapter = gpu.adapter;
    this.features = gpu.features;
    this.limits = { ...gpu.limits };
    for (const [k, v] of Object.entries(options.limits ?? {})) {
      const key = k as keyof DeviceLimits;
      if (v !== undefined) this.limits[key] = Math.min(this.limits[key], v);
    }
    this.poison = options.poison ?? false;
    this.tuning = { rowPerThread: gpu.adapter.software, ...options.tuning };
    this.explicitTuning = { ...options.tuning };
    this.maxPending = options.maxPendingDispatches ?? 1024;
    const profileEnv = typeof process !== 'undefined' && process.env?.WGPRUNE_PROFILE === '1';
    if ((options.profile ?? profileEnv) && this.features.timestampQuery) {
      this.profiler = new KernelProfiler(this.device);
      this.maxPending = Math.min(this.maxPending, maxProfiledLaunches);
    }
    this.pool = new BufferPool(this.device, STORAGE_USAGE(), 'tensor', { floorBytes: options.poolFloorBytes });
    this.staging = new BufferPool(this.device, MAP_READ_USAGE(), 'readback');
    this.cache = new PipelineCache(this.device, (msg) => new KernelError(msg));
    this.device.onuncapturederror = (event) => {
      this.errors.push(new KernelError(`device error: ${event.error.message}`));
    };
    this.lostSignal = this.device.lost.then((info) => {
      this.lostMessage = this.destroyed
        ? 'the runtime was destroyed'
        : `the GPU device was lost (${info.reason}): ${info.message || 'no message'}`;
      throw this.destroyed ? new DisposedError(this.lostMessage) : new DeviceLostError(this.lostMessage);
    });
    this.lostSignal.catch(() => {});
  }

  /** Keeps Dawn's `create()` object reachable from the runtime; see Gpu.dawn. */
  get dawn(): unknown {
    return this.gpu.dawn;
  }

  checkAlive(op: string): void {
    if (this.destroyed) throw new DisposedError(`${op}: the runtime was destroyed`);
    if (this.lostMessage) throw new DeviceLostError(`${op}: ${this.lostMessage}`);
  }

  // --- tensors -----------------------------------------------------------------

  /** An uninitialised tensor (NaN bits when the runtime poisons). */
  empty(shape: Shape, dtype: DType = 'f32'): Tensor {
    this.checkAlive('empty');
    checkDType(dtype);
    checkShape(shape);
    this.checkDType(dtype, 'empty');
    const bytes = sizeOf(shape) * bytesPerElement[dtype];
    if (bytes > this.limits.maxBufferSize) {
      throw new LimitError(`a ${shapeString(shape)} ${dtype} tensor needs ${bytes} bytes, more than this device's maxBufferSize (${this.limits.maxBufferSize})`);
    }
    const buffer = this.pool.acquire(Math.max(4, bytes));
    const t = new Tensor(this, this.tensorHost, [...shape], dtype, new Storage(buffer, buffer.size));
    if (this.poison) this.fillWords(buffer, buffer.size / 4, 0xffffffff);
    return t;
  }

  /** Uploads host data. The copy is recorded in order with launches, so no flush is needed. */
  tensor(data: ArrayLike<number>, shape: Shape, dtype: DType = 'f32'): Tensor {
    checkShape(shape);
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(`tensor: ${data.length} values do not fill shape ${shapeString(shape)} (${sizeOf(shape)} elements)`);
    }
    const t = this.empty(shape, dtype);
    const bytes = Math.ceil((data.length * bytesPerElement[dtype]) / 4) * 4;
    if (bytes === 0) return t;
    const upload = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true, label: 'upload' });
    const range = upload.getMappedRange();
    switch (dtype) {
      case 'f32': new Float32Array(range).set(data); break;
      case 'i32': new Int32Array(range).set(data); break;
      case 'u32': new Uint32Array(range).set(data); break;
      case 'f16': {
        const h = new Uint16Array(range);
        for (let i = 0; i < data.length; i++) h[i] = toHalfBits(data[i]!);
      }
    }
    upload.unmap();
    this.uploads.push(upload);
    this.pending.push({ kind: 'copy', src: upload, srcOffset: 0, dst: t.storage.buffer, dstOffset: 0, size: bytes });
    return t;
  }

  /** The largest element count one binding of `dtype` may hold, leaving room for alignment. */
  maxBindingElements(dtype: DType): number {
    const slack = this.limits.minStorageBufferOffsetAlignment;
    return Math.floor((this.limits.maxStorageBufferBindingSize - slack) / bytesPerElement[dtype]);
  }

  /**
   * Binds elements [start, start + count) of `t`. Bindings start on the device's offset
   * alignment, so the kernel adds `shift` to its indices.
   */
  bind(t: Tensor, start = 0, count = t.size - start): Bound {
    const bpe = bytesPerElement[t.dtype];
    const align = this.limits.minStorageBufferOffsetAlignment;
    const byteStart = (t.offset + start) * bpe;
    const offset = Math.floor(byteStart / align) * align;
    const size = Math.max(4, Math.ceil((byteStart + count * bpe - offset) / 4) * 4);
    if (size > this.limits.maxStorageBufferBindingSize) {
      throw new LimitError(`binding ${count} elements of ${t} takes ${size} bytes, more than maxStorageBufferBindingSize (${this.limits.maxStorageBufferBindingSize}); the op must split it`);
    }
    return { binding: { buffer: t.storage.buffer, offset, size }, shift: (byteStart - offset) / bpe, dtype: t.dtype };
  }

  /** All a tensor may call on its runtime (src/runtime/tensor.ts, TensorHost). */
  private readonly tensorHost: TensorHost = {
    created: (t) => {
      this.liveTensors++;
      this.scopes[this.scopes.length - 1]?.add(t);
    },
    disposed: (t) => {
      this.liveTensors--;
      for (const s of this.scopes) s.delete(t);
    },
    release: (storage) => {
      if (!this.destroyed) this.pool.release(storage.buffer);
    },
  };

  /**
   * Runs `fn` and disposes every tensor it created except those in its result, which pass
   * to the enclosing scope. `fn` must be synchronous: reads are awaited outside.
   */
  tidy<T extends Tidyable>(fn: () => T): T {
    const scope = new Set<Tensor>();
    this.scopes.push(scope);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.scopes.pop();
      for (const t of scope) t.dispose();
      throw e;
    }
    this.scopes.pop();
    if (result instanceof Promise) throw new WgpruneError('tidy: the function returned a Promise; tidy takes a synchronous function');
    const kept = new Set<Tensor>();
    collectTensors(result, kept);
    const parent = this.scopes[this.scopes.length - 1];
    for (const t of scope) {
      if (kept.has(t)) parent?.add(t);
      else t.dispose();
    }
    return result;
  }

  /** Excludes a tensor from the scopes it is in, so tidy leaves it alone. */
  keep<T extends Tensor>(t: T): T {
    for (const s of this.scopes) s.delete(t);
    return t;
  }

  // --- launches ----------------------------------------------------------------

  private checkDType(dtype: DType, op: string): void {
    if (dtype === 'f16' && !this.features.f16) {
      throw new DTypeError(`${op}: f16 needs the adapter feature shader-f16, which ${this.adapter.description || 'this adapter'} lacks`);
    }
  }

  /**
   * Records one launch of `kernel` (shaders/kernel.ts): its bindings by name (a tensor
   * binds whole; `bind` takes part of one), its uniforms by name (the bindings' shifts are
   * filled here), and its workgroups by the kernel's dispatch rule unless given. Checks
   * that every binding is given with the declared kind and dtype and that vec4 bindings
   * start on a vec4, so a mismatch fails here with the kernel's name, not as wrong numbers.
   */
  launch<B extends Bindings, U extends Uniforms>(
    kernel: Kernel<B, U>, bindings: { readonly [K in keyof B]: Bound | Tensor }, uniforms: UniformValues<U>, workgroups?: Workgroups,
  ): void {
    this.checkAlive(kernel.name);
    const values: Record<string, number> = { ...uniforms };
    const given: Record<string, Bound | Tensor> = bindings;
    const resources: (GPUBufferBinding | GPUTextureView)[] = [];
    for (const [name, spec] of Object.entries(kernel.bindings)) {
      const value = given[name];
      if (value === undefined) throw new WgpruneError(`kernel ${kernel.name}: binding ${name} was not given`);
      const b = value instanceof Tensor ? this.bind(value.check(kernel.name)) : value;
      const kind = b.dtype ? 'storage' : b.texture;
      if (kind !== spec.kind) {
        throw new WgpruneError(`kernel ${kernel.name}: binding ${name} takes ${bindingWords[spec.kind]}, got ${kind ? bindingWords[kind] : 'a view of unknown kind'}`);
      }
      if (spec.kind === 'storage') {
        if (b.dtype !== spec.type) throw new DTypeError(`kernel ${kernel.name}: binding ${name} takes ${spec.type}, got ${b.dtype}`);
        const width = spec.vec4 ? 4 : 1;
        if (b.shift % width !== 0) throw new WgpruneError(`kernel ${kernel.name}: binding ${name} starts at element ${b.shift}, not on a vec4`);
        if (`${name}Shift` in values) throw new WgpruneError(`kernel ${kernel.name}: uniform ${name}Shift is filled by the launch`);
        values[`${name}Shift`] = b.shift / width;
      }
      resources.push(b.binding);
    }
    for (const name of Object.keys(given)) {
      if (!(name in kernel.bindings)) throw new WgpruneError(`kernel ${kernel.name} has no binding ${name}`);
    }
    this.record(kernel, resources, packUniforms(kernel, values), workgroups ?? kernel.dispatch(values as UniformValues<U>));
  }

  private record(kernel: Pick<Kernel, 'name' | 'bindings' | 'fields' | 'source'>, resources: (GPUBufferBinding | GPUTextureView)[], uniforms: ArrayBuffer, workgroups: Workgroups): void {
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    const wg = typeof workgroups === 'number' ? grid(workgroups, max) : workgroups;
    if (wg.some((d) => d > max)) {
      throw new LimitError(`kernel ${kernel.name}: ${wg.join(' x ')} workgroups pass the device's ${max} per dimension; the op must split it`);
    }
    if (wg.some((d) => d === 0)) return;
    this.pending.push({
      kind: 'dispatch', name: kernel.name, pipeline: this.cache.get(kernel), layout: this.cache.layoutFor(kernel),
      bindings: resources, uniforms, workgroups: wg,
    });
    if (this.pending.length >= this.maxPending) this.flush();
  }

  private fillWords(buffer: GPUBuffer, words: number, value: number): void {
    const perDispatch = 256 * this.limits.maxComputeWorkgroupsPerDimension;
    const alignWords = this.limits.minStorageBufferOffsetAlignment / 4;
    const chunk = Math.floor(Math.min(this.limits.maxStorageBufferBindingSize / 4, perDispatch) / alignWords) * alignWords;
    for (let start = 0; start < words; start += chunk) {
      const count = Math.min(chunk, words - start);
      this.launch(fillWordsKernel, { out: { binding: { buffer, offset: start * 4, size: count * 4 }, shift: 0, dtype: 'u32' } }, { count, value });
    }
  }

  /** Encodes everything recorded into one command buffer and submits it. */
  flush(): void {
    // With nothing recorded, no unsubmitted work can use the pool's evicted buffers.
    if (this.pending.length === 0) { this.pool.destroyRetired(); this.staging.destroyRetired(); return; }
    this.checkAlive('flush');
    const entries = this.pending;
    const uploads = this.uploads;
    this.pending = [];
    this.uploads = [];
    const device = this.device;

    const align = this.limits.minUniformBufferOffsetAlignment;
    const offsets: number[] = [];
    let total = 0;
    for (const e of entries) {
      if (e.kind !== 'dispatch') { offsets.push(-1); continue; }
      offsets.push(total);
      total += Math.ceil(e.uniforms.byteLength / align) * align;
    }
    if (total > 0) {
      if (!this.uniformArena || this.uniformArena.size < total) {
        this.uniformArena?.destroy();
        this.uniformArena = device.createBuffer({
          size: Math.max(total, 64 * 1024), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'uniforms',
        });
      }
      const host = new Uint8Array(total);
      entries.forEach((e, i) => { if (e.kind === 'dispatch') host.set(new Uint8Array(e.uniforms), offsets[i]!); });
      device.queue.writeBuffer(this.uniformArena, 0, host);
    }

    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder({ label: 'step' });
    let pass: GPUComputePassEncoder | null = null;
    const names = new Set<string>();
    entries.forEach((e, i) => {
      if (e.kind === 'copy' || e.kind === 'copyToTexture') {
        pass?.end();
        pass = null;
        if (e.kind === 'copy') encoder.copyBufferToBuffer(e.src, e.srcOffset, e.dst, e.dstOffset, e.size);
        else encoder.copyBufferToTexture({ buffer: e.src, offset: e.srcOffset, bytesPerRow: e.bytesPerRow }, { texture: e.dst }, [e.width, e.height]);
        return;
      }
      names.add(e.name);
      if (this.profiler) {
        pass?.end();
        pass = this.profiler.pass(encoder, e.name, entries.length);
      }
      pass ??= encoder.beginComputePass({ label: 'kernels' });
      const entriesOfGroup: GPUBindGroupEntry[] = e.bindings.map((resource, binding) => ({ binding, resource }));
      entriesOfGroup.push({ binding: e.bindings.length, resource: { buffer: this.uniformArena!, offset: offsets[i]!, size: e.uniforms.byteLength } });
      pass.setPipeline(e.pipeline);
      pass.setBindGroup(0, device.createBindGroup({ layout: e.layout, entries: entriesOfGroup, label: e.name }));
      pass.dispatchWorkgroups(...e.workgroups);
    });
    (pass as GPUComputePassEncoder | null)?.end();
    const collect = this.profiler?.resolve(encoder);
    device.queue.submit([encoder.finish()]);
    collect?.();
    this.submitCount++;
    for (const u of uploads) u.destroy();
    for (const r of this.retired.splice(0)) r.destroy();
    this.pool.destroyRetired();
    this.staging.destroyRetired();
    const kernels = [...names].join(', ');
    const check = Promise.all([device.popErrorScope(), device.popErrorScope()]).then(([validation, oom]) => {
      for (const err of [validation, oom]) {
        if (err) this.errors.push(new KernelError(`a step with kernels ${kernels || '(copies only)'} failed: ${err.message}`));
      }
    }, () => {});
    this.errorChecks.add(check);
    void check.finally(() => this.errorChecks.delete(check));
  }

  /** Waits for errors found so far to be reported, then throws the first one. */
  private async throwErrors(): Promise<void> {
    await Promise.race([Promise.all([...this.cache.checks, ...this.errorChecks]), this.lostSignal]);
    const all = [...this.cache.errors.splice(0), ...this.errors.splice(0)];
    if (all.length > 0) throw all[0];
  }

  /** Submits recorded work and waits until the device has finished it. */
  async sync(): Promise<void> {
    this.flush();
    await patientWait(Promise.race([this.device.queue.onSubmittedWorkDone(), this.lostSignal]));
    await this.throwErrors();
  }

  async read(t: Tensor): Promise<HostArray> {
    t.check('read');
    const bpe = bytesPerElement[t.dtype];
    const start = Math.floor(t.byteOffset / 4) * 4;
    const end = Math.ceil((t.byteOffset + t.size * bpe) / 4) * 4;
    const out = hostArrayFor(t.dtype, t.size);
    if (t.size === 0) return out;
    const staging = this.staging.acquire(end - start);
    this.pending.push({ kind: 'copy', src: t.storage.buffer, srcOffset: start, dst: staging, dstOffset: 0, size: end - start });
    this.flush();
    try {
      await patientWait(Promise.race([staging.mapAsync(GPUMapMode.READ, 0, end - start), this.lostSignal]));
    } catch (e) {
      await this.throwErrors();
      throw e;
    }
    const bytes = staging.getMappedRange(0, end - start).slice(0);
    staging.unmap();
    this.staging.release(staging);
    await this.throwErrors();
    const skip = t.byteOffset - start;
    switch (t.dtype) {
      case 'f32': out.set(new Float32Array(bytes, skip, t.size)); break;
      case 'i32': out.set(new Int32Array(bytes, skip, t.size)); break;
      case 'u32': out.set(new Uint32Array(bytes, skip, t.size)); break;
      case 'f16': {
        const h = new Uint16Array(bytes, skip, t.size);
        for (let i = 0; i < t.size; i++) out[i] = fromHalfBits(h[i]!);
      }
    }
    return out;
  }

  /**
   * Device time per kernel since the runtime was made (or `reset`), when it profiles
   * (`profile: true` and an adapter with timestamp queries); null otherwise.
   */
  async profile({ reset = false } = {}): Promise<KernelTime[] | null> {
    if (!this.profiler) return null;
    await this.sync();
    const report = await this.profiler.report();
    if (reset) this.profiler.reset();
    return report;
  }

  stats(): RuntimeStats {
    let textureBytes = 0;
    for (const r of this.resourcesByOp.values()) textureBytes += r.bytes();
    return { ...this.pool.stats(), tensors: this.liveTensors, textureBytes, pipelines: this.cache.size, submits: this.submitCount };
  }

  /** Frees pooled buffers not in use, and ops' resources. */
  trim(): void {
    this.flush();
    this.pool.trim();
    this.staging.trim();
    for (const r of this.resourcesByOp.values()) r.free();
  }

  /** The resources op `name` keeps on this runtime, made on first use; trim and destroy free them. */
  resources<R extends OpResources>(name: string, make: (device: GPUDevice) => R): R {
    this.checkAlive(name);
    let r = this.resourcesByOp.get(name);
    if (!r) this.resourcesByOp.set(name, (r = make(this.device)));
    return r as R;
  }

  /**
   * Destroys a GPU object once the work recorded so far is submitted: launches recorded
   * but not yet submitted may still use it.
   */
  retire(resource: { destroy(): void }): void {
    if (this.pending.length === 0) resource.destroy();
    else this.retired.push(resource);
  }

  /**
   * Records a copy of rows of `src` into texels (0, 0) .. (width, height) of `dst`: row y
   * of the texture takes 16·width bytes of the buffer from byte offset + y · bytesPerRow.
   * WebGPU asks bytesPerRow to be a multiple of 256 and the offset of 16 (an rgba32float
   * texel); `canCopyToTexture` says whether a layout qualifies.
   */
  copyToTexture(src: Tensor, startElement: number, bytesPerRow: number, dst: GPUTexture, width: number, height: number): void {
    this.checkAlive('copyToTexture');
    const srcOffset = (src.offset + startElement) * bytesPerElement[src.dtype];
    if (!this.canCopyToTexture(srcOffset, bytesPerRow) || width * 16 > bytesPerRow) {
      throw new WgpruneError(`copyToTexture: offset ${srcOffset} and ${bytesPerRow} bytes a row do not fit a copy of ${width} texels a row`);
    }
    if (width === 0 || height === 0) return;
    this.pending.push({ kind: 'copyToTexture', src: src.storage.buffer, srcOffset, bytesPerRow, dst, width, height });
  }

  /** Whether a buffer→texture copy can start at byte `offset` with rows `bytesPerRow` apart. */
  canCopyToTexture(offset: number, bytesPerRow: number): boolean {
    return offset % 16 === 0 && bytesPerRow % 256 === 0;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pending = [];
    this.pool.trim();
    this.staging.trim();
    for (const r of this.resourcesByOp.values()) r.free();
    this.device.destroy();
  }
}

function collectTensors(value: unknown, into: Set<Tensor>, seen = new WeakSet<object>()): void {
  if (value instanceof Tensor) { into.add(value); return; }
  if (!value || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  for (const v of Array.isArray(value) ? value : Object.values(value)) collectTensors(v, into, seen);
}
