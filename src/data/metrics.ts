// GLUE metrics as Hugging Face's glue_compute_metrics reports them (scikit-learn's
// accuracy_score, f1_score, matthews_corrcoef; scipy's pearsonr, spearmanr). Float64.
import { GLUE_TASK_INFO, type GlueTask } from './glue.js';
import { DataError } from './text.js';

type Values = ArrayLike<number>;

function sameLength(a: Values, b: Values, what: string): void {
  if (a.length !== b.length) throw new DataError(what, undefined, `${a.length} predictions for ${b.length} labels`);
  if (a.length === 0) throw new DataError(what, undefined, 'no examples to score');
}

export function accuracy(predictions: Values, labels: Values): number {
  sameLength(predictions, labels, 'accuracy');
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) hits++;
  return hits / labels.length;
}

/** Binary F1 of the positive class (1). 0 when there is no true positive (as scikit-learn). */
export function f1Binary(predictions: Values, labels: Values, positive = 1): number {
  sameLength(predictions, labels, 'f1');
  let tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = predictions[i] === positive, t = labels[i] === positive;
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/**
 * Matthews correlation, multiclass form (Gorodkin 2004) as scikit-learn computes it; equals
 * (tp·tn − fp·fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)) for two classes. 0 when undefined.
 */
export function matthews(predictions: Values, labels: Values): number {
  sameLength(predictions, labels, 'matthews');
  const n = labels.length;
  const t = new Map<number, number>(), p = new Map<number, number>();
  let correct = 0;
  for (let i = 0; i < n; i++) {
    t.set(labels[i]!, (t.get(labels[i]!) ?? 0) + 1);
    p.set(predictions[i]!, (p.get(predictions[i]!) ?? 0) + 1);
    if (predictions[i] === labels[i]) correct++;
  }
  let tp = 0, tt = 0, pp = 0;
  for (const [k, tk] of t) { tp += tk * (p.get(k) ?? 0); tt += tk * tk; }
  for (const pk of p.values()) pp += pk * pk;
  const den = Math.sqrt((n * n - pp) * (n * n - tt));
  return den === 0 ? 0 : (correct * n - tp) / den;
}

/** Pearson's r; NaN when either side is constant (as scipy). */
export function pearson(x: Values, y: Values): number {
  sameLength(x, y, 'pearson');
  const n = x.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += x[i]!; my += y[i]!; }
  mx /= n; my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx, dy = y[i]! - my;
    sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
  }
  const r = sxy / Math.sqrt(sxx * syy);
  return Math.max(-1, Math.min(1, r));
}

/** Ranks from 1, ties sharing the average of their ranks (scipy's rankdata 'average'). */
export function averageRanks(x: Values): Float64Array {
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const ranks = new Float64Array(x.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && x[order[j + 1]!] === x[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  return ranks;
}

/** Spearman's rho: Pearson's r of the average ranks. */
export function spearman(x: Values, y: Values): number {
  sameLength(x, y, 'spearman');
  return pearson(averageRanks(x), averageRanks(y));
}

/**
 * The task's GLUE metrics: class indices for classification tasks, scores for STS-B.
 * Keys: accuracy, f1, matthews, pearson, spearman (those the task reports).
 */
export function glueMetrics(task: GlueTask, predictions: Values, labels: Values): Record<string, number> {
  const fns = { accuracy, f1: f1Binary, matthews, pearson, spearman };
  const out: Record<string, number> = {};
  for (const m of GLUE_TASK_INFO[task].metrics) out[m] = fns[m](predictions, labels);
  return out;
}

/** Index of the largest of each row of [n, classes] logits: the predicted class. */
export function argmaxRows(logits: ArrayLike<number>, classes: number): Int32Array {
  const n = logits.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c]! > logits[i * classes + best]!) best = c;
    out[i] = best;
  }
  return out;
}
