import { applyMaskKernel, fisherAccumulateKernel, maskGradientKernel } from '../../shaders/mask.js';
import { mapWorkgroupSize, powerOfTwoWorkgroup } from '../../shaders/common.js';
import { DTypeError, LimitError, ShapeError } from '../runtime/errors.js';
import { shapeString, type Tensor } from '../runtime/tensor.js';
import { maxThreadsPerLaunch, spans } from './launch.js';

function checkF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    t.check(op);
    if (t.dtype !== 'f32') throw new DTypeError(`${op}: needs f32 tensors, got ${t}`);
  }
}

function groupsOf(op: string, x: Tensor, axis: number): { groups: number; inner: number; ax: number } {
  const ax = axis < 0 ? axis + x.rank : axis;
  if (!Number.isInteger(ax) || ax < 0 || ax >= x.rank) throw new ShapeError(`${op}: axis ${axis} is out of range for ${x}`);
  return { groups: x.shape[ax]!, inner: x.shape.slice(ax + 1).reduce((p, d) => p * d, 1), ax };
}

/**
 * x times mask along `axis` (mask has x.shape[axis] values): the head mask on the
 * context [batch, seq, heads, headDim] (axis 2), the neuron mask on [.., neurons] (-1).
 */
export function applyMask(x: Tensor, mask: Tensor, axis: number): Tensor {
  const op = 'applyMask';
  checkF32(op, x, mask);
  const { groups, inner } = groupsOf(op, x, axis);
  if (mask.size !== groups) throw new ShapeError(`${op}: mask ${shapeString(mask.shape)} does not have the ${groups} values of axis ${axis} of ${x}`);
  const rt = x.runtime;
  const out = rt.empty(x.shape);
  const chunk = Math.min(rt.maxBindingElements('f32'), maxThreadsPerLaunch(rt, mapWorkgroupSize));
  for (const [start, count] of spans(x.size, chunk)) {
    rt.launch(applyMaskKernel, { x: rt.bind(x, start, count), mask, out: rt.bind(out, start, count) }, { count, start, groups, inner });
  }
  return out;
}

/**
 * Writes the per-example gradient of a mask applied along `axis` of a (axis >= 1; axis 0
 * is the batch) into out[b, layer, :], for out of shape [batch, layers, groups]:
 * Σ over every other axis of a ⊙ g, where a is the tensor the mask multiplied and g the
 * gradient of the loss with respect to the masked result (docs/method.md step 1).
 */
export function maskGradient(a: Tensor, g: Tensor, axis: number, out: Tensor, layer: number): void {
  const op = 'maskGradient';
  checkF32(op, a, g, out);
  if (a.size !== g.size) throw new ShapeError(`${op}: gradient ${shapeString(g.shape)} does not match ${shapeString(a.shape)}`);
  const { groups, inner, ax } = groupsOf(op, a, axis);
  if (ax === 0) throw new ShapeError(`${op}: axis 0 is the batch; the mask's axis must come after it`);
  const batch = a.shape[0]!;
  const pre = a.shape.slice(1, ax).reduce((p, d) => p * d, 1);
  if (out.rank !== 3 || out.shape[0] !== batch || out.shape[2] !== groups || !(layer >= 0 && layer < out.shape[1]!)) {
    throw new ShapeError(`${op}: out ${shapeString(out.shape)} is not [${batch}, layers, ${groups}] with a layer ${layer}`);
  }
  const rt = a.runtime;
  const size = powerOfTwoWorkgroup(rt.limits.maxComputeInvocationsPerWorkgroup, 64);
  const kernel = maskGradientKernel({ size, perThread: rt.tuning.rowPerThread || pre * inner < 4 * size });
  const perExample = a.size / Math.max(1, batch);
  const layers = out.shape[1]!;
  const examples = Math.min(Math.floor(rt.maxBindingElements('f32') / perExample), Math.floor(maxThreadsPerLaunch(rt, 1) / groups));
  if (examples < 1) throw new LimitError(`${op}: one example of ${a} is larger than one storage binding`);
  for (const [b0, n] of spans(batch, examples)) {
    rt.launch(kernel, {
      a: rt.bind(a, b0 * perExample, n * perExample), g: rt.bind(g, b0 * perExample, n * perExample),
      out: rt.bind(out, (b0 * layers + layer) * groups, ((n - 1) * layers) * groups + groups),
    }, { batch: n, pre, groups, inner, outStride: layers * groups });
  }
}

/**
 * fisher += Σ_b grads[b]² (per-example Fisher), or (Σ_b grads[b])² with `perBatch`,
 * where grads is [batch, ...fisher.shape]. In place.
 */
export function fisherAccumulate(fisher: Tensor, grads: Tensor, { perBatch = false } = {}): void {
  const op = 'fisherAccumulate';
  checkF32(op, fisher, grads);
  const batch = grads.shape[0] ?? 0;
  if (grads.size !== batch * fisher.size) throw new ShapeError(`${op}: gradients ${shapeString(grads.shape)} are not [batch, ${fisher.shape.join(', ')}]`);
  const rt = fisher.runtime;
  if (batch * fisher.size > rt.maxBindingElements('f32')) throw new LimitError(`${op}: ${grads} is larger than one storage binding`);
  rt.launch(fisherAccumulateKernel(perBatch), { grads, fisher }, { count: fisher.size, batch });
}
