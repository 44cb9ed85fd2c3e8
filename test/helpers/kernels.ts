import type { Test } from 'uvu';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { Tensor } from '../../src/runtime/tensor.js';
import type { GpuContext } from './gpu.js';
import { f32 } from '../reference/elementwise.js';

// What the tests of vec4 kernel variants share: inputs at unaligned offsets, a raised
// binding alignment, and a spy on the kernels an op launches.

/** `values` uploaded at element `offset` of a larger buffer (a view), to test bindings that do not start on a vec4. */
export function at(rt: Runtime, values: ArrayLike<number>, shape: number[], offset: number): Tensor {
  if (offset === 0) return rt.tensor(values, shape);
  const whole = rt.tensor(f32([...new Array<number>(offset).fill(7), ...Array.from(values)]), [offset + values.length]);
  return whole.rows(offset, offset + values.length).reshape(shape);
}

/**
 * Raises the suite's runtime's binding alignment to 256 bytes, as most GPUs have it
 * (lavapipe's is 16 bytes, where a binding that starts on a vec4 never needs a shift):
 * vec4 kernels then read and write through shifted bindings.
 */
export function alignBindings(s: Test<GpuContext>, bytes = 256): void {
  s.before((ctx) => {
    const limits = ctx.rt.limits as { minStorageBufferOffsetAlignment: number };
    limits.minStorageBufferOffsetAlignment = Math.max(bytes, limits.minStorageBufferOffsetAlignment);
  });
}

/** The names of the kernels `fn` launches on `rt` (a spy on Runtime.launch), with its result. */
export function launching<T>(rt: Runtime, fn: () => T): { result: T; kernels: string[] } {
  const kernels: string[] = [];
  const launch = rt.launch;
  const spy = (kernel: { name: string }, ...rest: unknown[]) => {
    kernels.push(kernel.name);
    (launch as (this: Runtime, ...args: unknown[]) => void).call(rt, kernel, ...rest);
  };
  rt.launch = spy as unknown as Runtime['launch'];
  try {
    return { result: fn(), kernels };
  } finally {
    rt.launch = launch;
  }
}
