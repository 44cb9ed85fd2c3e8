import { suite, type Test } from 'uvu';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/runtime/runtime.js';

export interface GpuContext {
  rt: Runtime;
}

/**
 * A uvu suite with its own runtime: created before the first test, destroyed after the
 * last. New tensors are poisoned with NaN bits, so an element a kernel fails to write
 * fails the comparison with the reference.
 */
export function gpuSuite(name: string, options: RuntimeOptions = {}): Test<GpuContext> {
  const s = suite<GpuContext>(name, {} as GpuContext);
  s.before(async (ctx) => {
    ctx.rt = await createRuntime({ poison: true, ...options });
  });
  s.after((ctx) => {
    ctx.rt?.destroy();
  });
  return s;
}
