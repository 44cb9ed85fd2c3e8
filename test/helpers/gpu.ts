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
    try {
      ctx.rt = await createRuntime({ poison: true, ...options });
    } catch (e) {
      // uvu drops errors thrown by hooks without a word: say why every test will fail.
      console.error(`${name}: no runtime: ${(e as Error).message}`);
      throw e;
    }
  });
  s.after((ctx) => {
    ctx.rt?.destroy();
  });
  return s;
}

/**
 * Marks the running test as skipped for a stated reason (uvu has no run-time skip): it
 * logs '[skip] reason', which scripts/test.mjs counts as skipped rather than passed.
 */
export function skip(reason: string): void {
  console.log(`[skip] ${reason}`);
}
