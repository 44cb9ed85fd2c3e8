import { maxPermuteRank, permuteAxes, permuteKernel, permuteWorkgroupSize } from '../../shaders/transpose.js';
import { LimitError, ShapeError } from '../runtime/errors.js';
import type { Tensor } from '../runtime/tensor.js';
import { maxThreadsPerLaunch } from './launch.js';

function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) { strides[d] = s; s *= shape[d]!; }
  return strides;
}

/** out.shape[i] = x.shape[perm[i]], copied. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  x.check('permute');
  const rank = x.rank;
  if (perm.length !== rank || [...perm].sort((p, q) => p - q).some((v, i) => v !== i)) {
    throw new ShapeError(`permute: [${perm.join(', ')}] is not a permutation of the ${rank} axes of ${x}`);
  }
  if (rank > maxPermuteRank) throw new ShapeError(`permute: ${x} has more than ${maxPermuteRank} axes`);
  const rt = x.runtime;
  const outShape = perm.map((p) => x.shape[p]!);
  const out = rt.empty(outShape, x.dtype);
  if (out.size === 0) return out;
  const inStrides = rowMajorStrides(x.shape);
  const permStrides = perm.map((p) => inStrides[p]!);
  const kernel = permuteKernel(x.dtype);
  // A launch covers a contiguous range of the output: fixed coordinates on the axes
  // before `axis`, a run of indices along it, everything after. The axis is the first
  // one whose slices fit one binding of the output and of the input span they read.
  const maxBind = rt.maxBindingElements(x.dtype);
  const outStrides = rowMajorStrides(outShape);
  const spanAfter = (d: number) => permStrides.slice(d + 1).reduce((s, st, i) => s + (outShape[d + 1 + i]! - 1) * st, 0) + 1;
  const axis = outShape.findIndex((_, d) => outStrides[d]! <= maxBind && spanAfter(d) <= maxBind);
  if (axis < 0) throw new LimitError(`permute: no slice of ${x} fits one storage binding (${maxBind} elements)`);
  const rest = spanAfter(axis);
  const runMax = Math.max(1, Math.min(
    outShape[axis]!,
    Math.floor(maxBind / outStrides[axis]!),
    Math.floor((maxBind - rest) / Math.max(1, permStrides[axis]!)) + 1,
    Math.floor(maxThreadsPerLaunch(rt, permuteWorkgroupSize) / outStrides[axis]!),
  ));
  const axes = permuteAxes(outShape, permStrides);
  const prefixCount = outShape.slice(0, axis).reduce((p, d) => p * d, 1);
  for (let prefix = 0; prefix < prefixCount; prefix++) {
    let inBase = 0, restIndex = prefix;
    for (let d = axis - 1; d >= 0; d--) {
      inBase += (restIndex % outShape[d]!) * permStrides[d]!;
      restIndex = Math.floor(restIndex / outShape[d]!);
    }
    for (let s0 = 0; s0 < outShape[axis]!; s0 += runMax) {
      const run = Math.min(runMax, outShape[axis]! - s0);
      const outStart = prefix * (axis > 0 ? outStrides[axis - 1]! : out.size) + s0 * outStrides[axis]!;
      const count = run * outStrides[axis]!;
      const lo = inBase + s0 * permStrides[axis]!;
      rt.launch(kernel, {
        x: rt.bind(x, lo, (run - 1) * permStrides[axis]! + rest), out: rt.bind(out, outStart, count),
      }, { count, rank, outStart, inLo: lo, ...axes });
    }
  }
  return out;
}

/** Swaps the last two axes: [..., R, C] -> [..., C, R]. */
export function transpose(x: Tensor): Tensor {
  if (x.rank < 2) throw new ShapeError(`transpose: ${x} has fewer than two axes`);
  const perm = x.shape.map((_, i) => i);
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return permute(x, perm);
}
