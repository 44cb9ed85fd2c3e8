import type { Program } from '../runtime/program.js';
import type { Runtime } from '../runtime/runtime.js';

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
