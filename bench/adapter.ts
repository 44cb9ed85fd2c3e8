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
