import { installPatientPolling } from './poll.js';
import { NoAdapterError } from './errors.js';

/** What benchmarks and reports print to say where a number was measured. */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** 'dawn' in Node, 'browser' for navigator.gpu. */
  host: 'dawn' | 'browser';
  /** True for CPU implementations (lavapipe/llvmpipe, SwiftShader). */
  software: boolean;
}

/** The adapter limits kernels are sized by, requested at the adapter's maximum. */
export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupSizeY: number;
  maxComputeWorkgroupSizeZ: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
  minStorageBufferOffsetAlignment: number;
  minUniformBufferOffsetAlignment: number;
  /** Bounds the matrices the texture matmul can take (width and height of one texture). */
  maxTextureDimension2D: number;
}

const limitNames: (keyof DeviceLimits)[] = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage',
  'minStorageBufferOffsetAlignment', 'minUniformBufferOffsetAlignment', 'maxTextureDimension2D',
];

export interface DeviceFeatures {
  f16: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
}

export interface GpuOptions {
  /** Dawn options passed to `create()` in Node, e.g. ['backend=vulkan', 'adapter=llvmpipe']. */
  dawnOptions?: string[];
  powerPreference?: GPUPowerPreference;
}

export interface Gpu {
  device: GPUDevice;
  adapter: AdapterReport;
  limits: DeviceLimits;
  features: DeviceFeatures;
  /**
   * The object Dawn's `create()` returned. Dawn's Node binding crashes (exit 139) if it is
   * garbage-collected while the device still has work in flight, so it lives as long as
   * the device does; null in the browser.
   */
  readonly dawn: unknown;
}

const noAdapterHelp =
  'No WebGPU adapter is available. In Node, Dawn needs a Vulkan driver: a GPU driver, or ' +
  "Mesa's software driver lavapipe (Mesa 24 or newer) with the Vulkan loader; on Debian or " +
  'Ubuntu, `bash scripts/setup.sh` as root installs them (mesa-vulkan-drivers, libvulkan1). ' +
  'In Chromium, start it with --enable-unsafe-webgpu.';

/** Options for Dawn from WGPRUNE_DAWN_OPTIONS, separated by ';' (toggle lists use ','). */
export function dawnOptionsFromEnv(): string[] {
  const env = typeof process !== 'undefined' ? process.env?.WGPRUNE_DAWN_OPTIONS : undefined;
  return env ? env.split(';').map((s) => s.trim()).filter(Boolean) : [];
}

async function gpuEntry(options: GpuOptions): Promise<{ gpu: GPU; dawn: unknown }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, dawn: null };
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (!isNode) throw new NoAdapterError(noAdapterHelp);
  // A variable specifier keeps bundlers for the browser from following it.
  const name = 'webgpu';
  const mod = (await import(/* @vite-ignore */ name)) as {
    create: (opts: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  // GPUBufferUsage, GPUMapMode, ... are globals in the browser; Dawn gives them to us.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  const dawn = mod.create([...(options.dawnOptions ?? []), ...dawnOptionsFromEnv()]);
  installPatientPolling();
  return { gpu: dawn, dawn };
}

function isSoftware(info: GPUAdapterInfo): boolean {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|software|warp|cpu/.test(text);
}

export async function acquireGpu(options: GpuOptions = {}): Promise<Gpu> {
  const { gpu, dawn } = await gpuEntry(options);
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter(
      options.powerPreference ? { powerPreference: options.powerPreference } : undefined);
  } catch (e) {
    throw new NoAdapterError(`${noAdapterHelp} (requestAdapter failed: ${(e as Error).message})`);
  }
  if (!adapter) throw new NoAdapterError(noAdapterHelp);

  const requiredLimits: Record<string, number> = {};
  const limits = {} as DeviceLimits;
  for (const name of limitNames) {
    const value = adapter.limits[name];
    limits[name] = value;
    requiredLimits[name] = value;
  }
  const requiredFeatures: GPUFeatureName[] = [];
  const features: DeviceFeatures = { f16: false, subgroups: false, timestampQuery: false };
  if (adapter.features.has('shader-f16')) { requiredFeatures.push('shader-f16'); features.f16 = true; }
  if (adapter.features.has('subgroups')) { requiredFeatures.push('subgroups' as GPUFeatureName); features.subgroups = true; }
  if (adapter.features.has('timestamp-query')) { requiredFeatures.push('timestamp-query'); features.timestampQuery = true; }

  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info;
  const report: AdapterReport = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    host: dawn ? 'dawn' : 'browser',
    software: isSoftware(info),
  };
  return { device, adapter: report, limits, features, dawn };
}

/** One line naming the adapter, for logs and benchmark tables. */
export function describeAdapter(a: AdapterReport): string {
  const parts = [a.description || a.device, a.vendor, a.architecture].filter(Boolean);
  return `${[...new Set(parts)].join(' / ') || 'unknown adapter'} (${a.host === 'dawn' ? 'Dawn, Node' : 'browser'}${a.software ? ', software' : ''})`;
}
