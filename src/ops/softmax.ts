import { powerOfTwoWorkgroup } from '../../shaders/common.js';
import { softmaxBackwardRowSource, softmaxBackwardSource, softmaxForwardSource } from '../../shaders/softmax.js';
import { DTypeError, LimitError, ShapeError } from '../runtime/errors.js';
import { Uniforms } from '../runtime/program.js';
import type { Runtime } from '../runtime/runtime.js';
import { shapeString, type Tensor } from '../runtime/tensor.js';
import { maxThreadsPerLaunch, programFor, spans } from './launch.js';

/** Rows are short (sequence lengths); 64 threads a row keeps most of them busy. */
function rowWorkgroup(rt: Runtime): number {
  return powerOfTwoWorkgroup(rt.limits.maxComputeInvocationsPerWorkgroup, 64);
}

/**
 * CPU adapters run a row per invocation: their barriers are coroutine switches, which
 * the workgroup-per-row kernels pay a dozen times a row (shaders/softmax.ts).
 */
export function rowPerThread(rt: Runtime): boolean {
  return rt.tuning.rowPerThread;
}

function rowsPerLaunch(rt: Runtime, cols: number, op: string): number {
  const n = Math.min(Math.floor(rt.maxBindingElements('f32') / cols), maxThreadsPerLaunch(rt, 1));
  if (n < 1) throw new LimitError(`${op}: one row of ${cols} values is larger than one storage binding`);
  return n;
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

/** softmax(x * scale + bias) over the last axis. */
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
  const size = rowWorkgroup(rt);
  const perThread = rowPerThread(rt);
  const program = programFor(`softmaxForward:${size}:${!!bias}:${perThread}`, () => ({
    name: op, source: softmaxForwardSource(size, !!bias, perThread), bindings: ['read', 'read', 'write'],
  }));
  const y = rt.empty(x.shape);
  // Without a bias the kernel never reads binding 1: x stands in for it.
  const bb = rt.bind(bias ?? x, 0, bias ? bias.size : 1);
  for (const [start, n] of spans(rows, rowsPerLaunch(rt, cols, op))) {
    const bx = rt.bind(x, start * cols, n * cols), by = rt.bind(y, start * cols, n * cols);
    const u = new Uniforms().u32(n, cols, rowsPerBatch).f32(scale).u32(bx.shift, by.shift, bb.shift, start);
    rt.dispatch(program, [bx, bb, by], u.bytes(), perThread ? Math.ceil(n / size) : n);
  }
  return y;
}

/** Gradient with respect to x, from the forward output y and the upstream dy. */
export function softmaxBackward(y: Tensor, dy: Tensor, { scale = 1 }: { scale?: number } = {}): Tensor {
  const op = 'softmaxBackward';
  checkF32(op, y, dy);
  if (y.size !== dy.size) throw new ShapeError(`${op}: dy ${shapeString(dy.shape)} does not match y ${shapeString(y.shape)}`);
  const cols = y.shape[y.rank - 1];
  if (!cols) throw new ShapeError(`${op}: ${y} has an empty last axis`);
  const rows = y.size / cols;
  const rt = y.runtime;
  const size = rowWorkgroup(rt);
  const perThread = rowPerThread(rt);
  const program = programFor(`softmaxBackward:${size}:${perThread}`, () => ({
    name: op, source: perThread ? softmaxBackwardRowSource(size) : softmaxBackwardSource(size), bindings: ['read', 'read', 'write'],
  }));
  const dx = rt.empty(y.shape);
  for (const [start, n] of spans(rows, rowsPerLaunch(rt, cols, op))) {
    const by = rt.bind(y, start * cols, n * cols), bdy = rt.bind(dy, start * cols, n * cols), bdx = rt.bind(dx, start * cols, n * cols);
    const u = new Uniforms().u32(n, cols).f32(scale).u32(by.shift, bdy.shift, bdx.shift);
    rt.dispatch(program, [by, bdy, bdx], u.bytes(), perThread ? Math.ceil(n / size) : n);
  }
  return dx;
}
