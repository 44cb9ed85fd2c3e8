import type { RowVariant } from '../../shaders/rows.js';
import { softmaxBackwardKernel, softmaxForwardKernel } from '../../shaders/softmax.js';
import { DTypeError, ShapeError } from '../runtime/errors.js';
import type { Bound, Runtime } from '../runtime/runtime.js';
import { shapeString, type Tensor } from '../runtime/tensor.js';
import { spans } from './launch.js';
import { rowsPerLaunch, rowVariant, vec4Rows } from './rows.js';

/**
 * The softmax kernels' variant on this runtime. Rows are short (sequence lengths); 64
 * threads a row keeps most of them busy. CPU adapters run a row per invocation: their
 * barriers are coroutine switches, which the workgroup-per-row kernels pay a dozen times
 * a row (shaders/softmax.ts).
 */
function softmaxVariant(rt: Runtime): RowVariant {
  return rowVariant(rt, 64);
}

function checkF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    t.check(op);
    if (t.dtype !== 'f32') throw new DTypeError(`${op}: needs f32 tensors, got ${t}`);
  }
}

export interface SoftmaxOptions {
  /** Multiplies x before the softmax (1 / sqrt(headDim) for attention scores). */
  scale?: number;
  /**
   * Additive key mask [batches, cols]; row r uses row floor(r / rowsPerBatch) of it, where
   * rowsPerBatch = rows / batches (for scores [batch, heads, queries, keys]: heads x queries).
   */
  bias?: Tensor;
}

/**
 * softmax(x * scale + bias) over the last axis, scale and mask applied in the same kernel
 * (attention's scores to probabilities is one launch per binding-sized block of rows).
 * Reads and writes vec4s where cols and every binding (the bias's too) allow it.
 */
export function softmaxForward(x: Tensor, { scale = 1, bias }: SoftmaxOptions = {}): Tensor {
  const op = 'softmaxForward';
  checkF32(op, x, ...(bias ? [bias] : []));
  const cols = x.shape[x.rank - 1];
  if (!cols) throw new ShapeError(`${op}: ${x} has an empty last axis`);
  const rows = x.size / cols;
  let rowsPerBatch = rows;
  if (bias) {
    const batches = bias.size / cols;
    if (bias.shape[bias.rank - 1] !== cols || !Number.isInteger(batches) || batches < 1 || rows % batches !== 0) {
      throw new ShapeError(`${op}: bias ${shapeString(bias.shape)} is not [batches, ${cols}] with batches dividing the ${rows} rows of ${x}`);
    }
    rowsPerBatch = rows / batches;
  }
  const rt = x.runtime;
  const variant = { ...softmaxVariant(rt), hasBias: !!bias };
  const y = rt.empty(x.shape);
  // Without a bias the kernel never reads it: x stands in (a scalar binding).
  const boundBias = rt.bind(bias ?? x, 0, bias ? bias.size : 1);
  for (const [start, n] of spans(rows, rowsPerLaunch(rt, cols, op))) {
    const bound: Record<'x' | 'bias' | 'y', Bound> = { x: rt.bind(x, start * cols, n * cols), bias: boundBias, y: rt.bind(y, start * cols, n * cols) };
    const vec4 = vec4Rows(cols, bias ? Object.values(bound) : [bound.x, bound.y]);
    rt.launch(softmaxForwardKernel({ ...variant, vec4 }), bound, { rows: n, cols, rowsPerBatch, scale, rowStart: start });
  }
  return y;
}

/** Gradient with respect to x, from the forward output y and the upstream dy; vec4 where cols and the bindings allow. */
export function softmaxBackward(y: Tensor, dy: Tensor, { scale = 1 }: { scale?: number } = {}): Tensor {
  const op = 'softmaxBackward';
  checkF32(op, y, dy);
  if (y.size !== dy.size) throw new ShapeError(`${op}: dy ${shapeString(dy.shape)} does not match y ${shapeString(y.shape)}`);
  const cols = y.shape[y.rank - 1];
  if (!cols) throw new ShapeError(`${op}: ${y} has an empty last axis`);
  const rows = y.size / cols;
  const rt = y.runtime;
  const variant = softmaxVariant(rt);
  const dx = rt.empty(y.shape);
  for (const [start, n] of spans(rows, rowsPerLaunch(rt, cols, op))) {
    const block = (t: Tensor) => rt.bind(t, start * cols, n * cols);
    const bound: Record<'y' | 'dy' | 'dx', Bound> = { y: block(y), dy: block(dy), dx: block(dx) };
    rt.launch(softmaxBackwardKernel({ ...variant, vec4: vec4Rows(cols, Object.values(bound)) }), bound, { rows: n, cols, scale });
  }
  return dx;
}
