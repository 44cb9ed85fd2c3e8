// src/runtime/errors.ts
var WgpruneError = class extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
};
var NoAdapterError = class extends WgpruneError {
};
var DeviceLostError = class extends WgpruneError {
};
var KernelError = class extends WgpruneError {
};
var ShapeError = class extends WgpruneError {
};
var DTypeError = class extends WgpruneError {
};
var DisposedError = class extends WgpruneError {
};
var LimitError = class extends WgpruneError {
};

// src/runtime/gpu.ts
var limitNames = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
  "minStorageBufferOffsetAlignment",
  "minUniformBufferOffsetAlignment"
];
var noAdapterHelp = "No WebGPU adapter is available. In Node, Dawn needs a Vulkan driver: a GPU driver, or Mesa's software driver lavapipe (Mesa 24 or newer) with the Vulkan loader; on Debian or Ubuntu, `bash scripts/setup.sh` as root installs them (mesa-vulkan-drivers, libvulkan1). In Chromium, start it with --enable-unsafe-webgpu.";
function dawnOptionsFromEnv() {
  const env = typeof process !== "undefined" ? process.env?.WGPRUNE_DAWN_OPTIONS : void 0;
  return env ? env.split(";").map((s) => s.trim()).filter(Boolean) : [];
}
async function gpuEntry(options) {
  const nav = globalThis.navigator;
  if (nav?.gpu) return { gpu: nav.gpu, dawn: null };
  const isNode = typeof process !== "undefined" && !!process.versions?.node;
  if (!isNode) throw new NoAdapterError(noAdapterHelp);
  const name = "webgpu";
  const mod = await import(
    /* @vite-ignore */
    name
  );
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) globalThis[k] = v;
  }
  const dawn = mod.create([...options.dawnOptions ?? [], ...dawnOptionsFromEnv()]);
  return { gpu: dawn, dawn };
}
function isSoftware(info) {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|software|warp|cpu/.test(text);
}
async function acquireGpu(options = {}) {
  const { gpu, dawn } = await gpuEntry(options);
  let adapter = null;
  try {
    adapter = await gpu.requestAdapter(
      options.powerPreference ? { powerPreference: options.powerPreference } : void 0
    );
  } catch (e) {
    throw new NoAdapterError(`${noAdapterHelp} (requestAdapter failed: ${e.message})`);
  }
  if (!adapter) throw new NoAdapterError(noAdapterHelp);
  const requiredLimits = {};
  const limits = {};
  for (const name of limitNames) {
    const value = adapter.limits[name];
    limits[name] = value;
    requiredLimits[name] = value;
  }
  const requiredFeatures = [];
  const features = { f16: false, subgroups: false, timestampQuery: false };
  if (adapter.features.has("shader-f16")) {
    requiredFeatures.push("shader-f16");
    features.f16 = true;
  }
  if (adapter.features.has("subgroups")) {
    requiredFeatures.push("subgroups");
    features.subgroups = true;
  }
  if (adapter.features.has("timestamp-query")) {
    requiredFeatures.push("timestamp-query");
    features.timestampQuery = true;
  }
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info;
  const report = {
    vendor: info.vendor ?? "",
    architecture: info.architecture ?? "",
    device: info.device ?? "",
    description: info.description ?? "",
    host: dawn ? "dawn" : "browser",
    software: isSoftware(info)
  };
  return { device, adapter: report, limits, features, dawn };
}

// src/runtime/dtype.ts
var bytesPerElement = { f32: 4, f16: 2, i32: 4, u32: 4 };
function hostArrayFor(dtype, length) {
  switch (dtype) {
    case "f32":
    case "f16":
      return new Float32Array(length);
    case "i32":
      return new Int32Array(length);
    case "u32":
      return new Uint32Array(length);
  }
}
function checkDType(value) {
  if (value === "f32" || value === "f16" || value === "i32" || value === "u32") return value;
  throw new DTypeError(`unknown dtype ${JSON.stringify(value)}: expected f32, f16, i32 or u32`);
}
function toHalfBits(x) {
  f32[0] = x;
  const b2 = u32[0];
  const sign = b2 >>> 16 & 32768;
  const exp = b2 >>> 23 & 255;
  let mant = b2 & 8388607;
  if (exp === 255) return sign | 31744 | (mant ? 512 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 31744;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 8388608;
    const shift = 14 - e;
    let h2 = mant >>> shift;
    const rem2 = mant & (1 << shift) - 1;
    const half = 1 << shift - 1;
    if (rem2 > half || rem2 === half && h2 & 1) h2++;
    return sign | h2;
  }
  let h = e << 10 | mant >>> 13;
  const rem = mant & 8191;
  if (rem > 4096 || rem === 4096 && h & 1) h++;
  return sign | h;
}
function fromHalfBits(h) {
  const sign = h & 32768 ? -1 : 1;
  const exp = h >>> 10 & 31;
  const mant = h & 1023;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
var f32 = new Float32Array(1);
var u32 = new Uint32Array(f32.buffer);

// src/runtime/pool.ts
function sizeClass(bytes) {
  const min = 256;
  if (bytes <= min) return min;
  if (bytes <= 16 * 1024) return Math.ceil(bytes / min) * min;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  const step = pow / 4;
  return Math.ceil(bytes / step) * step;
}
var BufferPool = class {
  constructor(device, usage, label) {
    this.device = device;
    this.usage = usage;
    this.label = label;
  }
  device;
  usage;
  label;
  free = /* @__PURE__ */ new Map();
  live = 0;
  liveBytesTotal = 0;
  freeCount = 0;
  freeBytesTotal = 0;
  acquire(bytes) {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.freeCount--;
      this.freeBytesTotal -= size;
    } else {
      buffer = this.device.createBuffer({ size, usage: this.usage, label: `${this.label} ${size}` });
    }
    this.live++;
    this.liveBytesTotal += size;
    return buffer;
  }
  /** Returns a buffer for reuse. Work already recorded that reads it runs first, in queue order. */
  release(buffer) {
    const size = buffer.size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, list = []);
    list.push(buffer);
    this.live--;
    this.liveBytesTotal -= size;
    this.freeCount++;
    this.freeBytesTotal += size;
  }
  /** Destroys the buffers kept for reuse; only call with no recorded work pending. */
  trim() {
    for (const list of this.free.values()) for (const b2 of list) b2.destroy();
    this.free.clear();
    this.freeCount = 0;
    this.freeBytesTotal = 0;
  }
  stats() {
    return { liveBuffers: this.live, liveBytes: this.liveBytesTotal, freeBuffers: this.freeCount, freeBytes: this.freeBytesTotal };
  }
};

// src/runtime/program.ts
var PipelineCache = class {
  constructor(device, makeError) {
    this.device = device;
    this.makeError = makeError;
  }
  device;
  makeError;
  pipelines = /* @__PURE__ */ new Map();
  layouts = /* @__PURE__ */ new Map();
  /** Shader or pipeline errors found asynchronously; the runtime reports them at the next sync. */
  errors = [];
  /** Error scopes of pipelines not yet reported; a sync waits for them. */
  checks = /* @__PURE__ */ new Set();
  get size() {
    return this.pipelines.size;
  }
  layoutFor(bindings) {
    const key = bindings.join(",");
    let layout = this.layouts.get(key);
    if (!layout) {
      const entries = bindings.map((access, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: access === "read" ? "read-only-storage" : "storage" }
      }));
      entries.push({ binding: bindings.length, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" } });
      layout = this.device.createBindGroupLayout({ entries, label: `layout(${key})` });
      this.layouts.set(key, layout);
    }
    return layout;
  }
  get(program) {
    const entryPoint = program.entryPoint ?? "main";
    const key = `${entryPoint}
${program.bindings.join(",")}
${program.source}`;
    let pipeline = this.pipelines.get(key);
    if (pipeline) return pipeline;
    const device = this.device;
    device.pushErrorScope("validation");
    const module = device.createShaderModule({ code: program.source, label: program.name });
    pipeline = device.createComputePipeline({
      label: program.name,
      layout: device.createPipelineLayout({ bindGroupLayouts: [this.layoutFor(program.bindings)] }),
      compute: { module, entryPoint }
    });
    const name = program.name;
    const check = device.popErrorScope().then(async (error) => {
      if (!error) return;
      let detail = error.message;
      try {
        const info = await module.getCompilationInfo();
        const lines = info.messages.filter((m) => m.type === "error").map((m) => `line ${m.lineNum}: ${m.message}`);
        if (lines.length) detail = lines.join("; ");
      } catch {
      }
      this.errors.push(this.makeError(`kernel ${name} failed to compile: ${detail}`));
    }, () => {
    });
    this.checks.add(check);
    void check.finally(() => this.checks.delete(check));
    this.pipelines.set(key, pipeline);
    return pipeline;
  }
};
var Uniforms = class {
  words = [];
  kinds = [];
  u32(...values) {
    for (const v of values) {
      this.words.push(v >>> 0);
      this.kinds.push("u");
    }
    return this;
  }
  i32(...values) {
    for (const v of values) {
      this.words.push(v | 0);
      this.kinds.push("i");
    }
    return this;
  }
  f32(...values) {
    for (const v of values) {
      this.words.push(v);
      this.kinds.push("f");
    }
    return this;
  }
  /** Bytes padded to 16, as WGSL rounds a uniform struct's size. */
  bytes() {
    const n = Math.max(4, Math.ceil(this.words.length / 4) * 4);
    const buf = new ArrayBuffer(n * 4);
    const u = new Uint32Array(buf), i = new Int32Array(buf), f = new Float32Array(buf);
    this.words.forEach((w, k) => {
      const kind = this.kinds[k];
      if (kind === "f") f[k] = w;
      else if (kind === "i") i[k] = w;
      else u[k] = w;
    });
    return buf;
  }
};
function grid(count, maxPerDimension, z = 1) {
  if (count <= maxPerDimension) return [Math.max(1, count), 1, z];
  const y = Math.ceil(count / maxPerDimension);
  const x = Math.ceil(count / y);
  return [x, y, z];
}

// src/runtime/tensor.ts
var Storage = class {
  constructor(buffer, byteLength) {
    this.buffer = buffer;
    this.byteLength = byteLength;
  }
  buffer;
  byteLength;
  refs = 1;
};
function sizeOf(shape) {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
function checkShape(shape, what = "shape") {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${what} [${shape.join(", ")}] has a dimension that is not a non-negative integer`);
  }
}
function shapeString(shape) {
  return `[${shape.join(", ")}]`;
}
var Tensor = class _Tensor {
  constructor(runtime, shape, dtype, storage, offset = 0) {
    this.runtime = runtime;
    this.shape = shape;
    this.dtype = dtype;
    this.storage = storage;
    this.offset = offset;
    this.size = sizeOf(shape);
    runtime.track(this);
  }
  runtime;
  shape;
  dtype;
  storage;
  offset;
  size;
  disposedFlag = false;
  get rank() {
    return this.shape.length;
  }
  get disposed() {
    return this.disposedFlag;
  }
  get byteOffset() {
    return this.offset * bytesPerElement[this.dtype];
  }
  get byteLength() {
    return this.size * bytesPerElement[this.dtype];
  }
  toString() {
    return `tensor${shapeString(this.shape)} ${this.dtype}`;
  }
  /** Throws if this tensor cannot be used by `op`. */
  check(op) {
    if (this.disposedFlag) throw new DisposedError(`${op}: ${this} was used after dispose()`);
    this.runtime.checkAlive(op);
    return this;
  }
  /** Same data, new shape; one dimension may be -1. No copy. */
  reshape(shape) {
    this.check("reshape");
    const dims = [...shape];
    const free = dims.indexOf(-1);
    if (free >= 0) {
      const rest = sizeOf(dims.filter((_, i) => i !== free));
      if (rest === 0 || this.size % rest !== 0) throw new ShapeError(`reshape: cannot reshape ${this} to ${shapeString(shape)}`);
      dims[free] = this.size / rest;
    }
    checkShape(dims, "reshape");
    if (sizeOf(dims) !== this.size) {
      throw new ShapeError(`reshape: ${this} has ${this.size} elements, ${shapeString(shape)} has ${sizeOf(dims)}`);
    }
    return this.view(dims, this.offset);
  }
  /** Rows [start, end) of the first axis, as a view. No copy. */
  rows(start, end) {
    this.check("rows");
    const n = this.shape[0];
    if (n === void 0 || !(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= n)) {
      throw new ShapeError(`rows: range [${start}, ${end}) is outside the first axis of ${this}`);
    }
    const inner = n === 0 ? 0 : this.size / n;
    return this.view([end - start, ...this.shape.slice(1)], this.offset + start * inner);
  }
  view(shape, offset) {
    this.storage.refs++;
    return new _Tensor(this.runtime, shape, this.dtype, this.storage, offset);
  }
  /** Copies the data back to the host (f16 widens to float32). */
  read() {
    this.check("read");
    return this.runtime.read(this);
  }
  dispose() {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    this.runtime.untrack(this);
    if (--this.storage.refs === 0) this.runtime.releaseStorage(this.storage);
  }
};

// shaders/fill.ts
var fillWordsSource = (
  /* wgsl */
  `
struct Params { count: u32, value: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i < params.count) { out[i] = params.value; }
}
`
);

// src/runtime/runtime.ts
var fillWordsProgram = { name: "fillWords", source: fillWordsSource, bindings: ["write"] };
var MAP_READ_USAGE = () => GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
var STORAGE_USAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
async function createRuntime(options = {}) {
  return new Runtime(await acquireGpu(options), options);
}
var Runtime = class {
  device;
  adapter;
  limits;
  features;
  gpu;
  pool;
  staging;
  cache;
  poison;
  maxPending;
  pending = [];
  uploads = [];
  uniformArena = null;
  scopes = [];
  errors = [];
  errorChecks = /* @__PURE__ */ new Set();
  lostSignal;
  lostMessage = null;
  destroyed = false;
  liveTensors = 0;
  submitCount = 0;
  constructor(gpu, options = {}) {
    this.gpu = gpu;
    this.device = gpu.device;
    this.adapter = gpu.adapter;
    this.features = gpu.features;
    this.limits = { ...gpu.limits };
    for (const [k, v] of Object.entries(options.limits ?? {})) {
      const key = k;
      if (v !== void 0) this.limits[key] = Math.min(this.limits[key], v);
    }
    this.poison = options.poison ?? false;
    this.maxPending = options.maxPendingDispatches ?? 1024;
    this.pool = new BufferPool(this.device, STORAGE_USAGE(), "tensor");
    this.staging = new BufferPool(this.device, MAP_READ_USAGE(), "readback");
    this.cache = new PipelineCache(this.device, (msg) => new KernelError(msg));
    this.device.onuncapturederror = (event) => {
      this.errors.push(new KernelError(`device error: ${event.error.message}`));
    };
    this.lostSignal = this.device.lost.then((info) => {
      this.lostMessage = this.destroyed ? "the runtime was destroyed" : `the GPU device was lost (${info.reason}): ${info.message || "no message"}`;
      throw this.destroyed ? new DisposedError(this.lostMessage) : new DeviceLostError(this.lostMessage);
    });
    this.lostSignal.catch(() => {
    });
  }
  /** Keeps Dawn's `create()` object reachable from the runtime; see Gpu.dawn. */
  get dawn() {
    return this.gpu.dawn;
  }
  checkAlive(op) {
    if (this.destroyed) throw new DisposedError(`${op}: the runtime was destroyed`);
    if (this.lostMessage) throw new DeviceLostError(`${op}: ${this.lostMessage}`);
  }
  // --- tensors -----------------------------------------------------------------
  /** An uninitialised tensor (NaN bits when the runtime poisons). */
  empty(shape, dtype = "f32") {
    this.checkAlive("empty");
    checkDType(dtype);
    checkShape(shape);
    this.checkDType(dtype, "empty");
    const bytes = sizeOf(shape) * bytesPerElement[dtype];
    if (bytes > this.limits.maxBufferSize) {
      throw new LimitError(`a ${shapeString(shape)} ${dtype} tensor needs ${bytes} bytes, more than this device's maxBufferSize (${this.limits.maxBufferSize})`);
    }
    const buffer = this.pool.acquire(Math.max(4, bytes));
    const t = new Tensor(this, [...shape], dtype, new Storage(buffer, buffer.size));
    if (this.poison) this.fillWords(buffer, buffer.size / 4, 4294967295);
    return t;
  }
  /** Uploads host data. The copy is recorded in order with launches, so no flush is needed. */
  tensor(data, shape, dtype = "f32") {
    checkShape(shape);
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(`tensor: ${data.length} values do not fill shape ${shapeString(shape)} (${sizeOf(shape)} elements)`);
    }
    const t = this.empty(shape, dtype);
    const bytes = Math.ceil(data.length * bytesPerElement[dtype] / 4) * 4;
    if (bytes === 0) return t;
    const upload = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true, label: "upload" });
    const range = upload.getMappedRange();
    switch (dtype) {
      case "f32":
        new Float32Array(range).set(data);
        break;
      case "i32":
        new Int32Array(range).set(data);
        break;
      case "u32":
        new Uint32Array(range).set(data);
        break;
      case "f16": {
        const h = new Uint16Array(range);
        for (let i = 0; i < data.length; i++) h[i] = toHalfBits(data[i]);
      }
    }
    upload.unmap();
    this.uploads.push(upload);
    this.pending.push({ kind: "copy", src: upload, srcOffset: 0, dst: t.storage.buffer, dstOffset: 0, size: bytes });
    return t;
  }
  /** The largest element count one binding of `dtype` may hold, leaving room for alignment. */
  maxBindingElements(dtype) {
    const slack = this.limits.minStorageBufferOffsetAlignment;
    return Math.floor((this.limits.maxStorageBufferBindingSize - slack) / bytesPerElement[dtype]);
  }
  /**
   * Binds elements [start, start + count) of `t`. Bindings start on the device's offset
   * alignment, so the kernel adds `shift` to its indices.
   */
  bind(t, start = 0, count = t.size - start) {
    const bpe = bytesPerElement[t.dtype];
    const align = this.limits.minStorageBufferOffsetAlignment;
    const byteStart = (t.offset + start) * bpe;
    const offset = Math.floor(byteStart / align) * align;
    const size = Math.max(4, Math.ceil((byteStart + count * bpe - offset) / 4) * 4);
    if (size > this.limits.maxStorageBufferBindingSize) {
      throw new LimitError(`binding ${count} elements of ${t} takes ${size} bytes, more than maxStorageBufferBindingSize (${this.limits.maxStorageBufferBindingSize}); the op must split it`);
    }
    return { binding: { buffer: t.storage.buffer, offset, size }, shift: (byteStart - offset) / bpe };
  }
  releaseStorage(storage) {
    if (!this.destroyed) this.pool.release(storage.buffer);
  }
  track(t) {
    this.liveTensors++;
    this.scopes[this.scopes.length - 1]?.add(t);
  }
  untrack(t) {
    this.liveTensors--;
    for (const s of this.scopes) s.delete(t);
  }
  /**
   * Runs `fn` and disposes every tensor it created except those in its result, which pass
   * to the enclosing scope. `fn` must be synchronous: reads are awaited outside.
   */
  tidy(fn) {
    const scope = /* @__PURE__ */ new Set();
    this.scopes.push(scope);
    let result;
    try {
      result = fn();
    } catch (e) {
      this.scopes.pop();
      for (const t of scope) t.dispose();
      throw e;
    }
    this.scopes.pop();
    if (result instanceof Promise) throw new WgpruneError("tidy: the function returned a Promise; tidy takes a synchronous function");
    const kept = /* @__PURE__ */ new Set();
    collectTensors(result, kept);
    const parent = this.scopes[this.scopes.length - 1];
    for (const t of scope) {
      if (kept.has(t)) parent?.add(t);
      else t.dispose();
    }
    return result;
  }
  /** Excludes a tensor from the scopes it is in, so tidy leaves it alone. */
  keep(t) {
    for (const s of this.scopes) s.delete(t);
    return t;
  }
  // --- launches ----------------------------------------------------------------
  checkDType(dtype, op) {
    if (dtype === "f16" && !this.features.f16) {
      throw new DTypeError(`${op}: f16 needs the adapter feature shader-f16, which ${this.adapter.description || "this adapter"} lacks`);
    }
  }
  /** Records one kernel launch; `workgroups` is a flat count laid out by `grid`, or explicit. */
  dispatch(program, bindings, uniforms, workgroups) {
    this.checkAlive(program.name);
    if (bindings.length !== program.bindings.length) {
      throw new WgpruneError(`kernel ${program.name} takes ${program.bindings.length} bindings, got ${bindings.length}`);
    }
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    const wg = typeof workgroups === "number" ? grid(workgroups, max) : workgroups;
    if (wg.some((d) => d > max)) {
      throw new LimitError(`kernel ${program.name}: ${wg.join(" x ")} workgroups pass the device's ${max} per dimension; the op must split it`);
    }
    if (wg.some((d) => d === 0)) return;
    this.pending.push({
      kind: "dispatch",
      name: program.name,
      pipeline: this.cache.get(program),
      layout: this.cache.layoutFor(program.bindings),
      bindings: bindings.map((b2) => b2.binding),
      uniforms,
      workgroups: wg
    });
    if (this.pending.length >= this.maxPending) this.flush();
  }
  fillWords(buffer, words, value) {
    const perDispatch = 256 * this.limits.maxComputeWorkgroupsPerDimension;
    const alignWords = this.limits.minStorageBufferOffsetAlignment / 4;
    const chunk = Math.floor(Math.min(this.limits.maxStorageBufferBindingSize / 4, perDispatch) / alignWords) * alignWords;
    for (let start = 0; start < words; start += chunk) {
      const count = Math.min(chunk, words - start);
      const u = new Uint32Array([count, value, 0, 0]);
      this.dispatch(fillWordsProgram, [{ binding: { buffer, offset: start * 4, size: count * 4 }, shift: 0 }], u.buffer, Math.ceil(count / 256));
    }
  }
  /** Encodes everything recorded into one command buffer and submits it. */
  flush() {
    if (this.pending.length === 0) return;
    this.checkAlive("flush");
    const entries = this.pending;
    const uploads = this.uploads;
    this.pending = [];
    this.uploads = [];
    const device = this.device;
    const align = this.limits.minUniformBufferOffsetAlignment;
    const offsets = [];
    let total = 0;
    for (const e of entries) {
      if (e.kind !== "dispatch") {
        offsets.push(-1);
        continue;
      }
      offsets.push(total);
      total += Math.ceil(e.uniforms.byteLength / align) * align;
    }
    if (total > 0) {
      if (!this.uniformArena || this.uniformArena.size < total) {
        this.uniformArena?.destroy();
        this.uniformArena = device.createBuffer({
          size: Math.max(total, 64 * 1024),
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
          label: "uniforms"
        });
      }
      const host = new Uint8Array(total);
      entries.forEach((e, i) => {
        if (e.kind === "dispatch") host.set(new Uint8Array(e.uniforms), offsets[i]);
      });
      device.queue.writeBuffer(this.uniformArena, 0, host);
    }
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    const encoder = device.createCommandEncoder({ label: "step" });
    let pass = null;
    const names = /* @__PURE__ */ new Set();
    entries.forEach((e, i) => {
      if (e.kind === "copy") {
        pass?.end();
        pass = null;
        encoder.copyBufferToBuffer(e.src, e.srcOffset, e.dst, e.dstOffset, e.size);
        return;
      }
      names.add(e.name);
      pass ??= encoder.beginComputePass({ label: "kernels" });
      const entriesOfGroup = e.bindings.map((resource, binding) => ({ binding, resource }));
      entriesOfGroup.push({ binding: e.bindings.length, resource: { buffer: this.uniformArena, offset: offsets[i], size: e.uniforms.byteLength } });
      pass.setPipeline(e.pipeline);
      pass.setBindGroup(0, device.createBindGroup({ layout: e.layout, entries: entriesOfGroup, label: e.name }));
      pass.dispatchWorkgroups(...e.workgroups);
    });
    pass?.end();
    device.queue.submit([encoder.finish()]);
    this.submitCount++;
    for (const u of uploads) u.destroy();
    const kernels = [...names].join(", ");
    const check = Promise.all([device.popErrorScope(), device.popErrorScope()]).then(([validation, oom]) => {
      for (const err of [validation, oom]) {
        if (err) this.errors.push(new KernelError(`a step with kernels ${kernels || "(copies only)"} failed: ${err.message}`));
      }
    }, () => {
    });
    this.errorChecks.add(check);
    void check.finally(() => this.errorChecks.delete(check));
  }
  /** Waits for errors found so far to be reported, then throws the first one. */
  async throwErrors() {
    await Promise.race([Promise.all([...this.cache.checks, ...this.errorChecks]), this.lostSignal]);
    const all = [...this.cache.errors.splice(0), ...this.errors.splice(0)];
    if (all.length > 0) throw all[0];
  }
  /** Submits recorded work and waits until the device has finished it. */
  async sync() {
    this.flush();
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.lostSignal]);
    await this.throwErrors();
  }
  async read(t) {
    t.check("read");
    const bpe = bytesPerElement[t.dtype];
    const start = Math.floor(t.byteOffset / 4) * 4;
    const end = Math.ceil((t.byteOffset + t.size * bpe) / 4) * 4;
    const out = hostArrayFor(t.dtype, t.size);
    if (t.size === 0) return out;
    const staging = this.staging.acquire(end - start);
    this.pending.push({ kind: "copy", src: t.storage.buffer, srcOffset: start, dst: staging, dstOffset: 0, size: end - start });
    this.flush();
    try {
      await Promise.race([staging.mapAsync(GPUMapMode.READ, 0, end - start), this.lostSignal]);
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
      case "f32":
        out.set(new Float32Array(bytes, skip, t.size));
        break;
      case "i32":
        out.set(new Int32Array(bytes, skip, t.size));
        break;
      case "u32":
        out.set(new Uint32Array(bytes, skip, t.size));
        break;
      case "f16": {
        const h = new Uint16Array(bytes, skip, t.size);
        for (let i = 0; i < t.size; i++) out[i] = fromHalfBits(h[i]);
      }
    }
    return out;
  }
  stats() {
    return { ...this.pool.stats(), tensors: this.liveTensors, pipelines: this.cache.size, submits: this.submitCount };
  }
  /** Frees pooled buffers not in use. */
  trim() {
    this.flush();
    this.pool.trim();
    this.staging.trim();
  }
  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pending = [];
    this.pool.trim();
    this.staging.trim();
    this.device.destroy();
  }
};
function collectTensors(value, into) {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, into);
  else if (value && typeof value === "object") for (const v of Object.values(value)) collectTensors(v, into);
}

// scratch/mmexp.ts
var rt = await createRuntime();
var M = 512;
var K = 768;
var N = Number(process.env.N ?? 768);
var a = rt.tensor(new Float32Array(M * K).map(() => Math.random() - 0.5), [M, K]);
var b = rt.tensor(new Float32Array(K * N).map(() => Math.random() - 0.5), [K, N]);
var bt = rt.tensor(new Float32Array(K * N).map(() => Math.random() - 0.5), [N, K]);
function rowsUniform(R, WG, transB) {
  const accDecl = Array.from({ length: R }, (_, i) => `var acc${i} = vec4f(0.0);`).join("\n  ");
  let body;
  if (!transB) {
    body = `for (var k = 0u; k < p.K; k++) {
    let bk = b4[(k * p.N + col0) / 4u];
    ${Array.from({ length: R }, (_, i) => `acc${i} += a[(row0 + ${i}u) * p.K + k] * bk;`).join("\n    ")}
  }`;
  } else {
    body = `for (var k = 0u; k < p.K; k += 4u) {
    let b0 = b4[((col0 + 0u) * p.K + k) / 4u];
    let b1 = b4[((col0 + 1u) * p.K + k) / 4u];
    let b2 = b4[((col0 + 2u) * p.K + k) / 4u];
    let b3 = b4[((col0 + 3u) * p.K + k) / 4u];
    ${Array.from({ length: R }, (_, i) => `{ let av = a4[((row0 + ${i}u) * p.K + k) / 4u]; acc${i} += vec4f(dot(av, b0), dot(av, b1), dot(av, b2), dot(av, b3)); }`).join("\n    ")}
  }`;
  }
  const src = `
struct Params { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c4: array<vec4f>;
@group(0) @binding(4) var<uniform> p: Params;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wid.y * ${R}u;
  let col0 = (wid.x * ${WG}u + lid.x) * 4u;
  if (col0 >= p.N) { return; }
  ${accDecl}
  ${body}
  ${Array.from({ length: R }, (_, i) => `c4[((row0 + ${i}u) * p.N + col0) / 4u] = acc${i};`).join("\n  ")}
}`;
  return { src, wg: [Math.ceil(N / 4 / WG), M / R, 1] };
}
async function time(name, src, wg, bb = b) {
  const c = rt.empty([M, N]);
  const prog = { name, source: src, bindings: ["read", "read", "read", "write"] };
  const run = () => rt.dispatch(prog, [rt.bind(a), rt.bind(a), rt.bind(bb), rt.bind(c)], new Uniforms().u32(M, N, K).bytes(), wg);
  run();
  await rt.sync();
  const times = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    run();
    await rt.sync();
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  const ms = times[2];
  console.log(`${name}: ${ms.toFixed(1)} ms, ${(2 * M * N * K / ms / 1e6).toFixed(2)} GFLOP/s`);
  c.dispose();
}
for (const [R, WG] of [[4, 64], [8, 64], [8, 16], [16, 16], [8, 8], [4, 8], [16, 64]]) {
  const v = rowsUniform(R, WG, false);
  await time(`rowsUniform R${R} WG${WG}`, v.src, v.wg);
}
for (const [R, WG] of [[4, 64], [8, 64], [8, 16]]) {
  const v = rowsUniform(R, WG, true);
  await time(`rowsUniform transB R${R} WG${WG}`, v.src, v.wg, bt);
}
rt.destroy();
