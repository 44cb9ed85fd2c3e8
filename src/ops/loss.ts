import { mapKernel, powerOfTwoWorkgroup } from '../../shaders/common.js';
import { crossEntropyBackwardKernel, crossEntropyRowsKernel, lossMeanKernel } from '../../shaders/loss.js';
import { DTypeError, IdRangeError, LimitError, ShapeError } from '../runtime/errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { shapeString, type Tensor } from '../runtime/tensor.js';
import { launchMap, spans } from './launch.js';
import { rowsPerLaunch } from './rows.js';

/*
 * Every forward returns both the batch loss and the per-example losses; every backward
 * gives the gradient of the batch loss, or with `perExample` the gradient of each
 * example's own loss in its row (no division by the batch): the per-example gradients
 * that the mask Fisher information sums the squares of (docs/method.md step 1).
 */

export interface LossOutput {
  /** [1]: the batch loss, as Hugging Face's models return it. */
  loss: Tensor;
  /** [batch]: each example's own loss; `loss` is their mean unless examples are ignored. */
  losses: Tensor;
}

export interface LossBackwardOptions {
  /** Row b holds the gradient of example b's own loss, not of the batch loss. */
  perExample?: boolean;
}

/** Quiet NaN: what a kernel writes for a label it cannot use (see labelClass in shaders/loss.ts). */
const NAN_BITS = 0x7fc00000;

/**
 * Throws on the first label outside [0, classes). The ops take labels on the device and
 * cannot see them without a read; there a bad label makes its example's loss and
 * gradient NaN instead of reading out of bounds. Call this where labels are on the host.
 */
export function checkLabels(labels: ArrayLike<number>, classes: number, what = 'labels'): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v < classes)) {
      throw new IdRangeError(`${what}: label ${v} of example ${i} is outside the ${classes} classes [0, ${classes}); check the dataset's label mapping against the model's num_labels`);
    }
  }
}

function checkLogits(op: string, name: string, logits: Tensor): { batch: number; cols: number } {
  logits.check(op);
  if (logits.dtype !== 'f32') throw new DTypeError(`${op}: ${name} must be f32, got ${logits}`);
  if (logits.rank !== 2 || logits.shape[0] === 0 || logits.shape[1] === 0) {
    throw new ShapeError(`${op}: ${name} ${shapeString(logits.shape)} is not [batch >= 1, classes >= 1]`);
  }
  return { batch: logits.shape[0]!, cols: logits.shape[1]! };
}

function checkLabelTensor(op: string, name: string, labels: Tensor, batch: number, of: string): void {
  labels.check(op);
  if (labels.dtype !== 'i32') throw new DTypeError(`${op}: ${name} must be i32, got ${labels}`);
  if (labels.rank !== 1 || labels.size !== batch) throw new ShapeError(`${op}: ${name} ${shapeString(labels.shape)} is not [${batch}], one per row of ${of}`);
  if (batch > labels.runtime.maxBindingElements('i32')) throw new LimitError(`${op}: ${batch} ${name} are more than one storage binding holds`);
}

/** Rows are short (classes, or a sequence's positions); 64 threads a row, as softmax. */
function rowWorkgroup(rt: Runtime): number {
  return powerOfTwoWorkgroup(rt.limits.maxComputeInvocationsPerWorkgroup, 64);
}

/** Per-example cross-entropy of each row of logits into losses [batch]. */
function crossEntropyRows(op: string, logits: Tensor, labels: Tensor, span: boolean): Tensor {
  const rt = logits.runtime;
  const [batch, cols] = logits.shape as [number, number];
  const kernel = crossEntropyRowsKernel({ size: rowWorkgroup(rt), span });
  const losses = rt.empty([batch]); // [batch]
  for (const [start, n] of spans(batch, rowsPerLaunch(rt, cols, op, 'logits'))) {
    rt.launch(kernel, { x: rt.bind(logits, start * cols, n * cols), labels, losses: rt.bind(losses, start, n) }, {
      rows: n, cols, rowStart: start, nanBits: NAN_BITS,
    });
  }
  return losses;
}

/** (softmax - onehot) * scale per row, divided with `countValid` by the examples not ignored. */
function crossEntropyGrad(op: string, logits: Tensor, labels: Tensor, span: boolean, scale: number, countValid: boolean): Tensor {
  const rt = logits.runtime;
  const [batch, cols] = logits.shape as [number, number];
  const kernel = crossEntropyBackwardKernel({ size: rowWorkgroup(rt), span, countValid });
  const dx = rt.empty(logits.shape); // [batch, cols]
  for (const [start, n] of spans(batch, rowsPerLaunch(rt, cols, op, 'logits'))) {
    rt.launch(kernel, { x: rt.bind(logits, start * cols, n * cols), labels, dx: rt.bind(dx, start * cols, n * cols) }, {
      rows: n, cols, rowStart: start, batch, scale, nanBits: NAN_BITS,
    });
  }
  return dx;
}

/**
 * [1]: the mean over parts of Σ losses / n (see lossMeanKernel). Labels matter, and are
 * bound, only with `countValid`; with one part, the first also fills the second's bindings, unread.
 */
function lossMean(parts: { losses: Tensor; labels?: Tensor }[], { countValid = false, span = false, cols = 0 } = {}): Tensor {
  const first = parts[0]!.losses;
  const rt = first.runtime;
  const batch = first.size;
  const size = powerOfTwoWorkgroup(rt.limits.maxComputeInvocationsPerWorkgroup, 256);
  const kernel = lossMeanKernel({ size, parts: parts.length as 1 | 2, countValid, span });
  const loss = rt.empty([1]);
  const a = parts[0]!, b = parts[1] ?? a;
  const losses = { lossesA: a.losses, lossesB: b.losses, out: loss };
  const labels = countValid ? { labelsA: a.labels!, labelsB: b.labels! } : {};
  rt.launch(kernel, { ...losses, ...labels }, { batch, cols, nanBits: NAN_BITS });
  return loss;
}

// --- cross-entropy over classes (GLUE classification) ----------------------------

/**
 * Cross-entropy of logits [batch, classes] against labels i32 [batch]: losses[b] =
 * logsumexp(logits[b]) - logits[b, label] (stable: the row max is subtracted), loss = their
 * mean. A label outside [0, classes) makes its example NaN (checkLabels catches it on the host).
 */
export function crossEntropyForward(logits: Tensor, labels: Tensor): LossOutput {
  const op = 'crossEntropyForward';
  const { batch } = checkLogits(op, 'logits', logits);
  checkLabelTensor(op, 'labels', labels, batch, 'logits');
  const losses = crossEntropyRows(op, logits, labels, false);
  return { loss: lossMean([{ losses }]), losses };
}

/** dLogits = (softmax(logits) - onehot(labels)) / batch, or without the / batch `perExample`. */
export function crossEntropyBackward(logits: Tensor, labels: Tensor, { perExample = false }: LossBackwardOptions = {}): Tensor {
  const op = 'crossEntropyBackward';
  const { batch } = checkLogits(op, 'logits', logits);
  checkLabelTensor(op, 'labels', labels, batch, 'logits');
  return crossEntropyGrad(op, logits, labels, false, perExample ? 1 : 1 / batch, false);
}

// --- mean squared error (STS-B regression) ---------------------------------------

const squaredErrorProgram = mapKernel('squaredError', ['pred', 'label'], '(pred - label) * (pred - label)');
const squaredErrorGradProgram = mapKernel('squaredErrorBackward', ['pred', 'label'], 'p.scale * (pred - label)', { params: ['scale'] });

function checkRegression(op: string, pred: Tensor, target: Tensor): number {
  for (const [name, t] of [['pred', pred], ['target', target]] as const) {
    t.check(op);
    if (t.dtype !== 'f32') throw new DTypeError(`${op}: ${name} must be f32, got ${t}`);
  }
  const batch = pred.shape[0] ?? 0;
  if (batch === 0 || !(pred.rank === 1 || (pred.rank === 2 && pred.shape[1] === 1))) {
    throw new ShapeError(`${op}: pred ${shapeString(pred.shape)} is not [batch >= 1] or [batch, 1]`);
  }
  if (target.rank !== 1 || target.size !== batch) throw new ShapeError(`${op}: target ${shapeString(target.shape)} is not [${batch}], one per prediction`);
  return batch;
}

/** losses[b] = (pred[b] - target[b])², loss = their mean, as MSELoss on squeezed logits. */
export function mseForward(pred: Tensor, target: Tensor): LossOutput {
  const op = 'mseForward';
  const batch = checkRegression(op, pred, target);
  // lossMean binds the losses whole; for the other losses the label check bounds the batch.
  if (batch > pred.runtime.maxBindingElements('f32')) throw new LimitError(`${op}: ${batch} per-example losses are more than one storage binding holds`);
  const flat = pred.reshape([batch]);
  const losses = launchMap(squaredErrorProgram, [flat, target]);
  flat.dispose();
  return { loss: lossMean([{ losses }]), losses };
}

/** dPred (pred's shape) = 2 (pred - target) / batch, or without the / batch `perExample`. */
export function mseBackward(pred: Tensor, target: Tensor, { perExample = false }: LossBackwardOptions = {}): Tensor {
  const batch = checkRegression('mseBackward', pred, target);
  return launchMap(squaredErrorGradProgram, [pred, target], { scale: perExample ? 2 : 2 / batch });
}

// --- span cross-entropy (SQuAD) --------------------------------------------------

const halfSumProgram = mapKernel('halfSum', ['a', 'b'], '0.5 * (a + b)');

function checkSpan(op: string, startLogits: Tensor, endLogits: Tensor, startPositions: Tensor, endPositions: Tensor): number {
  const { batch, cols } = checkLogits(op, 'startLogits', startLogits);
  checkLogits(op, 'endLogits', endLogits);
  if (endLogits.shape[0] !== batch || endLogits.shape[1] !== cols) {
    throw new ShapeError(`${op}: endLogits ${shapeString(endLogits.shape)} do not match startLogits ${shapeString(startLogits.shape)}`);
  }
  checkLabelTensor(op, 'startPositions', startPositions, batch, 'startLogits');
  checkLabelTensor(op, 'endPositions', endPositions, batch, 'endLogits');
  return cols;
}

/**
 * Hugging Face's question-answering loss over start and end logits [batch, seq]: positions
 * are clamped to [0, seq], and seq is ignore_index, so the start loss is the mean of
 * cross-entropy over the examples whose start lies in the sequence, likewise the end
 * loss, and loss = (start + end) / 2. All starts (or ends) ignored gives NaN, as PyTorch.
 * losses[b] = (its start CE + its end CE) / 2, an ignored half counting 0.
 */
export function spanLossForward(startLogits: Tensor, endLogits: Tensor, startPositions: Tensor, endPositions: Tensor): LossOutput {
  const op = 'spanLossForward';
  const cols = checkSpan(op, startLogits, endLogits, startPositions, endPositions);
  const starts = crossEntropyRows(op, startLogits, startPositions, true);
  const ends = crossEntropyRows(op, endLogits, endPositions, true);
  const loss = lossMean([{ losses: starts, labels: startPositions }, { losses: ends, labels: endPositions }], { countValid: true, span: true, cols });
  const losses = launchMap(halfSumProgram, [starts, ends]);
  starts.dispose();
  ends.dispose();
  return { loss, losses };
}

/**
 * Gradients with respect to the start and end logits: (softmax - onehot) / (2 n), n the
 * examples of that half not ignored, 0 in ignored rows; `perExample`: (softmax - onehot) / 2.
 */
export function spanLossBackward(
  startLogits: Tensor, endLogits: Tensor, startPositions: Tensor, endPositions: Tensor, { perExample = false }: LossBackwardOptions = {},
): { dStart: Tensor; dEnd: Tensor } {
  const op = 'spanLossBackward';
  checkSpan(op, startLogits, endLogits, startPositions, endPositions);
  return {
    dStart: crossEntropyGrad(op, startLogits, startPositions, true, 0.5, !perExample),
    dEnd: crossEntropyGrad(op, endLogits, endPositions, true, 0.5, !perExample),
  };
}
