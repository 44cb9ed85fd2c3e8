// The browser entry of the wgprune package (`exports` condition "browser", and "default"):
// navigator.gpu, and models from Files or Blobs. It imports no Node built-in and not
// `webgpu` (Dawn's native module): a bundler for the browser finds nothing to shim.
export * from './api.js';
