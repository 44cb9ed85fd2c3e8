import { powerOfTwoWorkgroup } from '../../shaders/common.js';
import { reduceRowsKernel, reduceStridedKernel, type ReduceOp } from '../../shaders/reduce.js';
import { isFloat } from '../runtime/dtype.js';
import { DTypeError, LimitError, ShapeError } from '../runtime/errors.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Tensor } from '../runtime/tensor.js';
import { maxThreadsPerLaunch, spans } from './launch.js';

function reduceWorkgroupSize(rt: Runtime): number {
  return powerOfTwoWorkgroup(rt.limits.maxComputeInvocationsPerWorkgroup);
}

/** Reduces [outer, len, inner] starting at element xStart of x into out at outStart. */
function launch(op: ReduceOp, x: Tensor, xStart: number, out: Tensor, outStart: number, outer: number, len: number, inner: number): void {
  const rt = x.runtime;
  const variant = { op, dtype: x.dtype, size: reduceWorkgroupSize(rt) };
  const bindings = { x: rt.bind(x, xStart, outer * len * inner), out: rt.bind(out, outStart, outer * inner) };
  if (inner === 1) rt.launch(reduceRowsKernel(variant), bindings, { rows: outer, len });
  else rt.launch(reduceStridedKernel(variant), bindings, { outer, len, inner });
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
  const maxBind = rt.maxBindingElements(x.dtype);
  const slab = len * inner;
  if (slab > maxBind) {
    // One slice does not fit a binding: reduce pieces of the axis into [outer, pieces,
    // inner] partials, then reduce those.
    const piece = Math.floor(maxBind / inner);
    if (piece < 1) throw new LimitError(`${op}: ${inner} values after axis ${axis} of ${x} are more than one storage binding holds`);
    const pieces = Math.ceil(len / piece);
    const partial = rt.empty([outer, pieces, inner], x.dtype);
    for (let o = 0; o < outer; o++) {
      for (let p = 0; p < pieces; p++) {
        const n = Math.min(piece, len - p * piece);
        launch(op, x, ((o * len) + p * piece) * inner, partial, (o * pieces + p) * inner, 1, n, inner);
      }
    }
    const reduced = reduce(op, partial, 1, false);
    partial.dispose();
    const out = reduced.reshape(outShape);
    reduced.dispose();
    return out;
  }
  const out = rt.empty(outShape, x.dtype);
  const wg = reduceWorkgroupSize(rt);
  // Outer slices per launch: one binding of input, and the grid's reach.
  const perLaunch = Math.min(Math.floor(maxBind / slab), inner === 1 ? maxThreadsPerLaunch(rt, 1) : Math.floor(maxThreadsPerLaunch(rt, wg) / inner));
  if (perLaunch < 1) throw new LimitError(`${op}: ${inner} outputs per slice of ${x} are more than one launch can address`);
  for (const [start, n] of spans(outer, perLaunch)) launch(op, x, start * slab, out, start * inner, n, len, inner);
  return out;
}

/** Sum over one axis, accumulated in f32 with pairwise (tree) summation along contiguous rows. */
export function sum(x: Tensor, axis = -1, keepDims = false): Tensor {
  return reduce('sum', x, axis, keepDims);
}

export function max(x: Tensor, axis = -1, keepDims = false): Tensor {
  return reduce('max', x, axis, keepDims);
}
