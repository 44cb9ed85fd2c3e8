import { mapWorkgroupSize, type MapSources } from '../../shaders/common.js';
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

/** An element-wise kernel in its two widths (shaders/common.ts, mapSource). */
export interface MapKernel {
  name: string;
  sources: MapSources;
}

/**
 * Launches an element-wise kernel over same-sized f32 inputs, splitting by binding size
 * and dispatch limits. Uses the vec4 width when the size and every binding's shift allow,
 * the scalar one otherwise. Returns the new output.
 */
export function launchMap(kernel: MapKernel, inputs: Tensor[], params: number[] = []): Tensor {
  const first = inputs[0]!;
  for (const t of inputs) {
    t.check(kernel.name);
    if (t.dtype !== 'f32') throw new DTypeError(`${kernel.name}: needs f32 tensors, got ${t.dtype}`);
    if (t.size !== first.size) throw new ShapeError(`${kernel.name}: ${t} and ${first} differ in size`);
  }
  const rt = first.runtime;
  const out = rt.empty(first.shape, 'f32');
  const bindings = [...inputs.map(() => 'read' as const), 'write' as const];
  const chunk = Math.floor(Math.min(rt.maxBindingElements('f32'), maxThreadsPerLaunch(rt, mapWorkgroupSize)) / 4) * 4;
  for (const [start, count] of spans(first.size, chunk)) {
    const bound = [...inputs, out].map((t) => rt.bind(t, start, count));
    const width = count % 4 === 0 && bound.every((b) => b.shift % 4 === 0) ? 4 : 1;
    const program = programFor(`map:${kernel.name}:${width}`, () => ({
      name: `${kernel.name}${width === 4 ? '[vec4]' : ''}`, source: width === 4 ? kernel.sources.vec4 : kernel.sources.scalar, bindings,
    }));
    const u = new Uniforms().u32(count / width, ...bound.map((b) => b.shift / width)).f32(...params);
    rt.dispatch(program, bound, u.bytes(), Math.ceil(count / width / mapWorkgroupSize));
  }
  return out;
}
