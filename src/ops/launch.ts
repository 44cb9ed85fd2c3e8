import { mapWorkgroupSize, type MapKernel } from '../../shaders/common.js';
import { DTypeError, ShapeError } from '../runtime/errors.js';
import type { Bound, Runtime } from '../runtime/runtime.js';
import type { Tensor } from '../runtime/tensor.js';

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
 * Launches an element-wise kernel over same-sized f32 inputs, splitting by binding size
 * and dispatch limits. Uses the vec4 width when the size and every binding's shift allow,
 * the scalar one otherwise. Returns the new output.
 */
export function launchMap(kernel: MapKernel, inputs: Tensor[], params: Readonly<Record<string, number>> = {}): Tensor {
  const first = inputs[0]!;
  for (const t of inputs) {
    t.check(kernel.name);
    if (t.dtype !== 'f32') throw new DTypeError(`${kernel.name}: needs f32 tensors, got ${t.dtype}`);
    if (t.size !== first.size) throw new ShapeError(`${kernel.name}: ${t} and ${first} differ in size`);
  }
  const rt = first.runtime;
  const out = rt.empty(first.shape, 'f32');
  if (inputs.length !== kernel.inputs.length) throw new ShapeError(`${kernel.name}: takes ${kernel.inputs.length} inputs, got ${inputs.length}`);
  const chunk = Math.floor(Math.min(rt.maxBindingElements('f32'), maxThreadsPerLaunch(rt, mapWorkgroupSize)) / 4) * 4;
  for (const [start, count] of spans(first.size, chunk)) {
    const bound: Record<string, Bound> = { out: rt.bind(out, start, count) };
    inputs.forEach((t, i) => { bound[`${kernel.inputs[i]}Data`] = rt.bind(t, start, count); });
    const vec4 = count % 4 === 0 && Object.values(bound).every((b) => b.shift % 4 === 0);
    rt.launch(vec4 ? kernel.vec4 : kernel.scalar, bound, { ...params, count: vec4 ? count / 4 : count });
  }
  return out;
}
