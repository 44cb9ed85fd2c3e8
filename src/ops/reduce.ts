import { reduceRowsSource, reduceStridedSource, type ReduceOp } from '../../shaders/reduce.js';
import { isFloat } from '../runtime/dtype.js';
import { DTypeError, LimitError, ShapeError } from '../runtime/errors.js';
import { Uniforms } from '../runtime/program.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Tensor } from '../runtime/tensor.js';
import { maxThreadsPerLaunch, programFor, spans } from './launch.js';

/** The largest power of two up to 256 that the adapter allows in one workgroup. */
function reduceWorkgroupSize(rt: Runtime): number {
  let size = 256;
  while (size > rt.limits.maxComputeInvocationsPerWorkgroup) size /= 2;
  return size;
}

function reduce(op: ReduceOp, x: Tensor, axis: number, keepDims: boolean): Tensor {
  x.check(op);
  if (!isFloat(x.dtype)) throw new DTypeError(`${op}: needs a float tensor, got ${x.dtype}`);
  const rank = x.rank;
  const ax = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(ax) || ax < 0 || ax >= rank) throw new ShapeError(`${op}: axis ${axis} is out of range for ${x}`);
  const outer = x.shape.slice(0, ax).reduce((p, d) => p * d, 1);
  const len = x.shape[ax]!;
  const inner = x.shape.slice(ax + 1).reduce((p, d) => p * d, 1);
  if (len === 0) throw new ShapeError(`${op}: axis ${axis} of ${x} is empty`);
  const rt = x.runtime;
  const outShape = keepDims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
  const out = rt.empty(outShape, x.dtype);
  const maxBind = rt.maxBindingElements(x.dtype);
  const slab = len * inner;
  if (slab > maxBind) {
    throw new LimitError(`${op}: one slice of ${x} along axis ${axis} (${slab} elements) is larger than one storage binding (${maxBind})`);
  }
  const wg = reduceWorkgroupSize(rt);
  if (inner === 1) {
    const program = programFor(`reduceRows:${op}:${x.dtype}:${wg}`, () => ({
      name: `${op}Rows[${x.dtype}]`, source: reduceRowsSource(op, x.dtype, wg), bindings: ['read', 'write'],
    }));
    const rowsPerLaunch = Math.min(Math.floor(maxBind / len), maxThreadsPerLaunch(rt, 1));
    for (const [start, rows] of spans(outer, rowsPerLaunch)) {
      const bx = rt.bind(x, start * len, rows * len);
      const bo = rt.bind(out, start, rows);
      rt.dispatch(program, [bx, bo], new Uniforms().u32(rows, len, bx.shift, bo.shift).bytes(), rows);
    }
  } else {
    const program = programFor(`reduceStrided:${op}:${x.dtype}:${wg}`, () => ({
      name: `${op}Strided[${x.dtype}]`, source: reduceStridedSource(op, x.dtype, wg), bindings: ['read', 'write'],
    }));
    const outerPerLaunch = Math.min(Math.floor(maxBind / slab), Math.floor(maxThreadsPerLaunch(rt, wg) / inner));
    if (outerPerLaunch < 1) throw new LimitError(`${op}: ${inner} outputs per slice of ${x} are more than one launch can address`);
    for (const [start, n] of spans(outer, outerPerLaunch)) {
      const bx = rt.bind(x, start * slab, n * slab);
      const bo = rt.bind(out, start * inner, n * inner);
      rt.dispatch(program, [bx, bo], new Uniforms().u32(n, len, inner, bx.shift, bo.shift).bytes(), Math.ceil((n * inner) / wg));
    }
  }
  return out;
}

/** Sum over one axis, accumulated in f32 with pairwise (tree) summation along contiguous rows. */
export function sum(x: Tensor, axis = -1, keepDims = false): Tensor {
  return reduce('sum', x, axis, keepDims);
}

export function max(x: Tensor, axis = -1, keepDims = false): Tensor {
  return reduce('max', x, axis, keepDims);
}
