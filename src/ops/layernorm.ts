import { powerOfTwoWorkgroup } from '../../shaders/common.js';
import { layernormBackwardSource, layernormForwardSource, layernormParamsBackwardSource } from '../../shaders/layernorm.js';
import { DTypeError, LimitError, ShapeError } from '../runtime/errors.js';
import { Uniforms } from '../runtime/program.js';
import type { Runtime } from '../runtime/runtime.js';
import { shapeString, type Tensor } from '../runtime/tensor.js';
import { maxThreadsPerLaunch, programFor, spans } from './launch.js';
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

/** Rows per launch: bounded by one binding of x and by the dispatch grid. */
function rowsPerLaunch(rt: Runtime, cols: number, op: string): number {
  const n = Math.min(Math.floor(rt.maxBindingElements('f32') / cols), maxThreadsPerLaunch(rt, 1));
  if (n < 1) throw new LimitError(`${op}: one row of ${cols} values is larger than one storage binding`);
  return n;
}

/** LayerNorm over the last axis with affine gamma, beta ([cols]); eps is 1e-12 in BERT. */
export function layernormForward(x: Tensor, gamma: Tensor, beta: Tensor, eps: number): { y: Tensor } & LayernormSaved {
  const op = 'layernormForward';
  const { rows, cols } = rowsOf(op, x, gamma, [beta]);
  if (beta.size !== cols) throw new ShapeError(`${op}: beta ${shapeString(beta.shape)} does not match the last axis of ${x}`);
  const rt = x.runtime;
  const size = powerOfTwoWorkgroup(rt.limits.maxComputeInvocationsPerWorkgroup);
  const perThread = rt.tuning.rowPerThread;
  const program = programFor(`layernormForward:${size}:${perThread}`, () => ({
    name: op, source: layernormForwardSource(size, perThread), bindings: ['read', 'read', 'read', 'write', 'write', 'write'],
  }));
  const y = rt.empty(x.shape), mean = rt.empty([rows]), rstd = rt.empty([rows]);
  const bg = rt.bind(gamma), bb = rt.bind(beta);
  for (const [start, n] of spans(rows, rowsPerLaunch(rt, cols, op))) {
    const bx = rt.bind(x, start * cols, n * cols), by = rt.bind(y, start * cols, n * cols);
    const bm = rt.bind(mean, start, n), br = rt.bind(rstd, start, n);
    const u = new Uniforms().u32(n, cols).f32(eps).u32(bx.shift, by.shift, bm.shift, br.shift, bg.shift, bb.shift);
    rt.dispatch(program, [bx, bg, bb, by, bm, br], u.bytes(), perThread ? Math.ceil(n / size) : n);
  }
  return { y, mean, rstd };
}

/**
 * Gradients of LayerNorm: dx always; dgamma and dbeta ([cols]) when `params` is set
 * (fine-tuning needs them, pruning does not).
 */
export function layernormBackward(
  x: Tensor, gamma: Tensor, saved: LayernormSaved, dy: Tensor, { params = false } = {},
): { dx: Tensor; dgamma?: Tensor; dbeta?: Tensor } {
  const op = 'layernormBackward';
  const { rows, cols } = rowsOf(op, x, gamma, [saved.mean, saved.rstd, dy]);
  if (dy.size !== x.size) throw new ShapeError(`${op}: dy ${shapeString(dy.shape)} does not match x ${shapeString(x.shape)}`);
  if (saved.mean.size !== rows || saved.rstd.size !== rows) throw new ShapeError(`${op}: saved statistics do not have ${rows} rows`);
  const rt = x.runtime;
  const size = powerOfTwoWorkgroup(rt.limits.maxComputeInvocationsPerWorkgroup);
  const perThread = rt.tuning.rowPerThread;
  const program = programFor(`layernormBackward:${size}:${perThread}`, () => ({
    name: op, source: layernormBackwardSource(size, perThread), bindings: ['read', 'read', 'read', 'read', 'read', 'write'],
  }));
  const dx = rt.empty(x.shape);
  const bg = rt.bind(gamma);
  const perLaunch = rowsPerLaunch(rt, cols, op);
  for (const [start, n] of spans(rows, perLaunch)) {
    const bx = rt.bind(x, start * cols, n * cols), bdy = rt.bind(dy, start * cols, n * cols), bdx = rt.bind(dx, start * cols, n * cols);
    const bm = rt.bind(saved.mean, start, n), br = rt.bind(saved.rstd, start, n);
    const u = new Uniforms().u32(n, cols, bx.shift, bdy.shift, bdx.shift, bm.shift, br.shift, bg.shift);
    rt.dispatch(program, [bx, bg, bm, br, bdy, bdx], u.bytes(), perThread ? Math.ceil(n / size) : n);
  }
  if (!params) return { dx };

  const pp = programFor(`layernormParamsBackward:${size}`, () => ({
    name: 'layernormParamsBackward', source: layernormParamsBackwardSource(size),
    bindings: ['read', 'read', 'read', 'read', 'write', 'write'],
  }));
  const blocks = Math.ceil(rows / perLaunch);
  // [blocks, cols] partial sums, summed over blocks after.
  const pg = rt.empty([blocks, cols]), pb = rt.empty([blocks, cols]);
  let block = 0;
  for (const [start, n] of spans(rows, perLaunch)) {
    const bx = rt.bind(x, start * cols, n * cols), bdy = rt.bind(dy, start * cols, n * cols);
    const bm = rt.bind(saved.mean, start, n), br = rt.bind(saved.rstd, start, n);
    const bpg = rt.bind(pg, block * cols, cols), bpb = rt.bind(pb, block * cols, cols);
    const u = new Uniforms().u32(n, cols, bx.shift, bdy.shift, bm.shift, br.shift, bpg.shift, bpb.shift);
    rt.dispatch(pp, [bx, bm, br, bdy, bpg, bpb], u.bytes(), Math.ceil(cols / size));
    block++;
  }
  const sg = sum(pg, 0), sb = sum(pb, 0);
  const dgamma = sg.reshape(gamma.shape), dbeta = sb.reshape(gamma.shape);
  for (const t of [pg, pb, sg, sb]) t.dispose();
  return { dx, dgamma, dbeta };
}
