import { affineKernel, binaryKernel, elementwiseWorkgroupSize, type BinaryOp } from '../../shaders/elementwise.js';
import { isFloat } from '../runtime/dtype.js';
import { DTypeError, ShapeError } from '../runtime/errors.js';
import { shapeString, type Tensor } from '../runtime/tensor.js';
import { maxThreadsPerLaunch, spans } from './launch.js';

/**
 * Checks that b's shape, less leading 1s, is a suffix of a's: b then repeats along a's
 * leading dims (a bias over [batch, seq, hidden], a mask over [.., heads, 1]).
 */
function broadcastPeriod(op: string, a: Tensor, b: Tensor): number {
  const bDims = [...b.shape];
  while (bDims.length > 0 && bDims[0] === 1 && bDims.length > 0) bDims.shift();
  const tail = a.shape.slice(a.shape.length - bDims.length);
  if (bDims.length > a.shape.length || tail.some((d, i) => d !== bDims[i])) {
    throw new ShapeError(`${op}: ${shapeString(b.shape)} does not broadcast to ${shapeString(a.shape)} (b's shape must be a suffix of a's)`);
  }
  return b.size;
}

function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  a.check(op);
  b.check(op);
  if (a.dtype !== b.dtype) throw new DTypeError(`${op}: dtypes differ (${a.dtype} and ${b.dtype})`);
  if (a.runtime !== b.runtime) throw new ShapeError(`${op}: tensors belong to different runtimes`);
  const period = broadcastPeriod(op, a, b);
  const rt = a.runtime;
  const out = rt.empty(a.shape, a.dtype);
  if (out.size === 0) return out;
  const maxBind = rt.maxBindingElements(a.dtype);
  const wholeB = period <= maxBind;
  // When b is too large to bind whole, no chunk may cross a repetition of b, so that
  // its piece of b is contiguous.
  let chunk = Math.min(maxBind, maxThreadsPerLaunch(rt, elementwiseWorkgroupSize));
  if (!wholeB) chunk = Math.min(chunk, period);
  for (let start = 0; start < a.size;) {
    let count = Math.min(chunk, a.size - start);
    if (!wholeB) count = Math.min(count, period - (start % period));
    const bA = rt.bind(a, start, count);
    const bOut = rt.bind(out, start, count);
    const bB = wholeB ? rt.bind(b) : rt.bind(b, start % period, count);
    const bPeriod = wholeB ? period : count, bStart = wholeB ? start % period : 0;
    // vec4 when every count, start and shift is a multiple of 4 (f16 stays scalar: its
    // bindings are 2-byte aligned only). The launch divides the shifts by 4; the counts
    // are divided here.
    const w = a.dtype !== 'f16' && [count, bPeriod, bStart, bA.shift, bB.shift, bOut.shift].every((v) => v % 4 === 0) ? 4 : 1;
    rt.launch(binaryKernel({ op, dtype: a.dtype, vec4: w === 4 }), { a: bA, b: bB, out: bOut }, { count: count / w, bPeriod: bPeriod / w, bStart: bStart / w });
    start += count;
  }
  return out;
}

/** a + b, with b broadcast along a's leading dims. */
export function add(a: Tensor, b: Tensor): Tensor {
  return binary('add', a, b);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  return binary('sub', a, b);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  return binary('mul', a, b);
}

export function div(a: Tensor, b: Tensor): Tensor {
  return binary('div', a, b);
}

/** a * alpha + beta, for float tensors. */
export function scale(a: Tensor, alpha: number, beta = 0): Tensor {
  a.check('scale');
  if (!isFloat(a.dtype)) throw new DTypeError(`scale: needs a float tensor, got ${a.dtype}`);
  const rt = a.runtime;
  const out = rt.empty(a.shape, a.dtype);
  const kernel = affineKernel(a.dtype);
  const chunk = Math.min(rt.maxBindingElements(a.dtype), maxThreadsPerLaunch(rt, elementwiseWorkgroupSize));
  for (const [start, count] of spans(a.size, chunk)) {
    rt.launch(kernel, { a: rt.bind(a, start, count), out: rt.bind(out, start, count) }, { count, alpha, beta });
  }
  return out;
}
