import { addLayernormForwardKernel, layernormBackwardKernel, layernormForwardKernel, layernormParamsBackwardKernel } from '../../shaders/layernorm.js';
import { DTypeError, ShapeError } from '../runtime/errors.js';
import type { Bound } from '../runtime/runtime.js';
import { shapeString, type Tensor } from '../runtime/tensor.js';
import { spans } from './launch.js';
import { rowsPerLaunch, rowVariant, vec4Rows } from './rows.js';
import { sum } from './reduce.js';

export interface LayernormSaved {
  /** [rows]: per-row mean and 1 / sqrt(var + eps), for the backward. */
  mean: Tensor;
  rstd: Tensor;
}

function rowsOf(op: string, x: Tensor, gamma: Tensor, extra: Tensor[] = []): { rows: number; cols: number } {
  for (const t of [x, gamma, ...extra]) {
    t.check(op);
    if (t.dtype !== 'f32') throw new DTypeError(`${op}: needs f32 tensors, got ${t}`);
  }
  const cols = x.shape[x.rank - 1];
  if (cols === undefined || cols === 0) throw new ShapeError(`${op}: ${x} has no last axis to normalize`);
  if (gamma.size !== cols) throw new ShapeError(`${op}: gamma ${shapeString(gamma.shape)} does not match the last axis of ${x}`);
  return { rows: x.size / cols, cols };
}

/**
 * LayerNorm over the last axis with affine gamma, beta ([cols]); eps is 1e-12 in BERT.
 * Reads and writes vec4s where cols and every binding allow it.
 */
export function layernormForward(x: Tensor, gamma: Tensor, beta: Tensor, eps: number): { y: Tensor } & LayernormSaved {
  const op = 'layernormForward';
  const { rows, cols } = rowsOf(op, x, gamma, [beta]);
  if (beta.size !== cols) throw new ShapeError(`${op}: beta ${shapeString(beta.shape)} does not match the last axis of ${x}`);
  const rt = x.runtime;
  const variant = rowVariant(rt);
  const y = rt.empty(x.shape), mean = rt.empty([rows]), rstd = rt.empty([rows]);
  const params = { gamma: rt.bind(gamma), beta: rt.bind(beta) };
  for (const [start, n] of spans(rows, rowsPerLaunch(rt, cols, op))) {
    const block = (t: Tensor) => rt.bind(t, start * cols, n * cols);
    const vectors: Record<'x' | 'gamma' | 'beta' | 'y', Bound> = { ...params, x: block(x), y: block(y) };
    rt.launch(layernormForwardKernel({ ...variant, vec4: vec4Rows(cols, Object.values(vectors)) }), {
      ...vectors, meanOut: rt.bind(mean, start, n), rstdOut: rt.bind(rstd, start, n),
    }, { rows: n, cols, eps });
  }
  return { y, mean, rstd };
}

/**
 * LayerNorm of a residual sum, y = LN(a + b), in one launch (a, b of one shape; gamma,
 * beta [cols]). Also returns the sum x = a + b (float32) with mean and rstd: the backward
 * is `layernormBackward(x, gamma, { mean, rstd }, dy)`, and its dx is the gradient of both
 * a and b. Reads and writes vec4s where cols and every binding allow it.
 */
export function addLayernormForward(a: Tensor, b: Tensor, gamma: Tensor, beta: Tensor, eps: number): { y: Tensor; x: Tensor } & LayernormSaved {
  const op = 'addLayernormForward';
  const { rows, cols } = rowsOf(op, a, gamma, [b, beta]);
  if (shapeString(a.shape) !== shapeString(b.shape)) throw new ShapeError(`${op}: ${a} and ${b} differ in shape`);
  if (beta.size !== cols) throw new ShapeError(`${op}: beta ${shapeString(beta.shape)} does not match the last axis of ${a}`);
  const rt = a.runtime;
  const variant = rowVariant(rt);
  const y = rt.empty(a.shape), x = rt.empty(a.shape), mean = rt.empty([rows]), rstd = rt.empty([rows]);
  const params = { gamma: rt.bind(gamma), beta: rt.bind(beta) };
  for (const [start, n] of spans(rows, rowsPerLaunch(rt, cols, op))) {
    const block = (t: Tensor) => rt.bind(t, start * cols, n * cols);
    const vectors: Record<'a' | 'b' | 'gamma' | 'beta' | 'y' | 'xOut', Bound> = {
      ...params, a: block(a), b: block(b), y: block(y), xOut: block(x),
    };
    rt.launch(addLayernormForwardKernel({ ...variant, vec4: vec4Rows(cols, Object.values(vectors)) }), {
      ...vectors, meanOut: rt.bind(mean, start, n), rstdOut: rt.bind(rstd, start, n),
    }, { rows: n, cols, eps });
  }
  return { y, x, mean, rstd };
}

/**
 * Gradients of LayerNorm: dx always; dgamma and dbeta ([cols]) when `params` is set
 * (fine-tuning needs them, pruning does not). Reads and writes vec4s where cols and every
 * binding allow it.
 */
export function layernormBackward(
  x: Tensor, gamma: Tensor, saved: LayernormSaved, dy: Tensor, { params = false } = {},
): { dx: Tensor; dgamma?: Tensor; dbeta?: Tensor } {
  const op = 'layernormBackward';
  const { rows, cols } = rowsOf(op, x, gamma, [saved.mean, saved.rstd, dy]);
  if (dy.size !== x.size) throw new ShapeError(`${op}: dy ${shapeString(dy.shape)} does not match x ${shapeString(x.shape)}`);
  if (saved.mean.size !== rows || saved.rstd.size !== rows) throw new ShapeError(`${op}: saved statistics do not have ${rows} rows`);
  const rt = x.runtime;
  const variant = rowVariant(rt);
  const dx = rt.empty(x.shape);
  const perLaunch = rowsPerLaunch(rt, cols, op);
  const boundGamma = rt.bind(gamma);
  for (const [start, n] of spans(rows, perLaunch)) {
    const block = (t: Tensor) => rt.bind(t, start * cols, n * cols);
    const vectors: Record<'x' | 'gamma' | 'dy' | 'dx', Bound> = { x: block(x), gamma: boundGamma, dy: block(dy), dx: block(dx) };
    rt.launch(layernormBackwardKernel({ ...variant, vec4: vec4Rows(cols, Object.values(vectors)) }), {
      ...vectors, meanIn: rt.bind(saved.mean, start, n), rstdIn: rt.bind(saved.rstd, start, n),
    }, { rows: n, cols });
  }
  if (!params) return { dx };

  const blocks = Math.ceil(rows / perLaunch);
  // [blocks, cols] partial sums, summed over blocks after.
  const pg = rt.empty([blocks, cols]), pb = rt.empty([blocks, cols]);
  let block = 0;
  for (const [start, n] of spans(rows, perLaunch)) {
    const vectors: Record<'x' | 'dy' | 'dgamma' | 'dbeta', Bound> = {
      x: rt.bind(x, start * cols, n * cols), dy: rt.bind(dy, start * cols, n * cols),
      dgamma: rt.bind(pg, block * cols, cols), dbeta: rt.bind(pb, block * cols, cols),
    };
    const vec4 = vec4Rows(cols, Object.values(vectors));
    // A thread a column, or four: a small workgroup keeps a few of them busy (768 columns
    // are 192 threads of vec4).
    rt.launch(layernormParamsBackwardKernel({ size: vec4 ? Math.min(variant.size, 64) : variant.size, vec4 }), {
      ...vectors, meanIn: rt.bind(saved.mean, start, n), rstdIn: rt.bind(saved.rstd, start, n),
    }, { rows: n, cols });
    block++;
  }
  const sg = sum(pg, 0), sb = sum(pb, 0);
  const dgamma = sg.reshape(gamma.shape), dbeta = sb.reshape(gamma.shape);
  for (const t of [pg, pb, sg, sb]) t.dispose();
  return { dx, dgamma, dbeta };
}
