import { describeAdapter } from '../src/runtime/gpu.js';

/** Names the adapter behind a peer's device the way describeAdapter names ours. */
export function describeDevice(device: GPUDevice, host: 'dawn' | 'browser'): string {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  if (!info) return `unknown adapter (${host === 'dawn' ? 'Dawn, Node' : 'browser'})`;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return describeAdapter({
    vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '',
    host, software: /llvmpipe|lavapipe|swiftshader|software|warp|cpu/.test(text),
  });
}

/** 'dawn' in Node, 'browser' in a page. */
export function webgpuHost(): 'dawn' | 'browser' {
  return typeof process !== 'undefined' && !!process.versions?.node ? 'dawn' : 'browser';
}

/**
 * Gives the WebGPU peers in Node, which find the adapter at navigator.gpu, the object Dawn's
 * create() returned for our runtime (`rt.dawn`), so they use the same Dawn instance and
 * adapter. It must stay reachable until the end (Dawn's binding crashes if it is collected
 * with work in flight): navigator holds it, and so does the runtime until rt.destroy().
 */
export function shareDawnWithPeers(dawn: unknown): void {
  const gpu = dawn as GPU;
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
}
