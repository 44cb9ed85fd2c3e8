import { mapWorkgroupSize } from '../../shaders/common.js';
import { DTypeError, ShapeError } from '../runtime/errors.js';
import { Uniforms, type Program } from '../runtime/program.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Tensor } from '../runtime/tensor.js';

const programs = new Map<string, Program>();

/** One Program object per kernel variant, so templates are expanded once. */
export function programFor(key: string, make: () => Program): Program {
  let p = programs.get(key);
  if (!p) programs.set(key, (p = make()));
  return p;
}

/** [start, count) pieces of `total` no larger than `chunk` (at least one, even for 0). */
export function* spans(total: number, chunk: number): Generator<[number, number]> {
  if (total === 0) return;
  const step = Math.max(1, Math.floor(chunk));
  for (let start = 0; start < total; start += step) yield [start, Math.min(step, total - start)];
}

/** Most threads one launch can address when each workgroup has `workgroupSize` threads. */
export function maxThreadsPerLaunch(rt: Runtime, workgroupSize: number): number {
  const d = rt.limits.maxComputeWorkgroupsPerDimension;
  return workgroupSize * d * d;
}

/**
 * Launches an element-wise kernel built by `mapSource` over same-sized f32 inputs,
 * splitting by binding size and dispatch limits. Returns the new output.
 */
export function launchMap(program: Program, inputs: Tensor[], params: number[] = []): Tensor {
  const first = inputs[0]!;
  for (const t of inputs) {
    t.check(program.name);
    if (t.dtype !== 'f32') throw new DTypeError(`${program.name}: needs f32 tensors, got ${t.dtype}`);
    if (t.size !== first.size) throw new ShapeError(`${program.name}: ${t} and ${first} differ in size`);
  }
  const rt = first.runtime;
  const out = rt.empty(first.shape, 'f32');
  const chunk = Math.min(rt.maxBindingElements('f32'), maxThreadsPerLaunch(rt, mapWorkgroupSize));
  for (const [start, count] of spans(first.size, chunk)) {
    const bound = inputs.map((t) => rt.bind(t, start, count));
    const bo = rt.bind(out, start, count);
    const u = new Uniforms().u32(count, ...bound.map((b) => b.shift), bo.shift).f32(...params);
    rt.dispatch(program, [...bound, bo], u.bytes(), Math.ceil(count / mapWorkgroupSize));
  }
  return out;
}
