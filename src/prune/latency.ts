import { seededRandom } from '../data/batch.js';
import { maxSequenceLength } from '../models/config.js';
import { attentionBlock, ffnBlock } from '../models/encoder.js';
import type { LayerWeights } from '../models/weights.js';
import type { EncoderModel, TokenBatch } from '../models/model.js';
import { WgpruneError } from '../runtime/errors.js';
import { describeAdapter } from '../runtime/gpu.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Tensor } from '../runtime/tensor.js';
import { disposeLayer, uploadLayer, type LayerArrays, type LinearArrays } from './fold.js';
import type { SearchResult } from './search.js';
import { encoderMacs, type CostShape } from './flops.js';

/** Wall time of repeated runs of one step, ms. */
export interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
}

/**
 * Times `step` (which records launches and returns what it made) from the call until the
 * device has finished it, after `warmup` untimed runs (pipelines compile there): at least
 * `minRuns` runs and `minMs` of timed work, at most `maxRuns`.
 */
export async function timeStep(rt: Runtime, step: () => Tensor | Tensor[], { warmup = 2, minRuns = 5, maxRuns = 50, minMs = 500 } = {}): Promise<Timing> {
  const once = async () => {
    const t0 = performance.now();
    const out = step();
    await rt.sync();
    const ms = performance.now() - t0;
    for (const t of Array.isArray(out) ? out : [out]) t.dispose();
    return ms;
  };
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  let total = 0;
  while (times.length < maxRuns && (times.length < minRuns || total < minMs)) {
    const ms = await once();
    times.push(ms);
    total += ms;
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
  return { medianMs: median, minMs: times[0]!, maxMs: times[times.length - 1]!, runs: times.length };
}

/** A batch of `batch` random sequences of `seq` tokens, every token real (no padding). */
function randomBatch(model: EncoderModel, batch: number, seq: number, seed = 1): TokenBatch {
  const next = seededRandom(seed);
  const vocab = model.config.vocabSize, pad = model.config.padTokenId;
  const inputIds = Int32Array.from({ length: batch * seq }, () => {
    let id = Math.floor(next() * vocab);
    if (id === pad) id = (id + 1) % vocab;
    return id;
  });
  return { batch, seq, inputIds, attentionMask: new Int32Array(batch * seq).fill(1), ...(model.config.typeVocabSize ? { tokenTypeIds: new Int32Array(batch * seq) } : {}) };
}

/** The latency of a whole forward pass (the task head included) over random inputs of one shape. */
export async function forwardLatency(model: EncoderModel, { batch = 1, seq = 128 } = {}, timing: Parameters<typeof timeStep>[2] = {}): Promise<Timing> {
  const max = maxSequenceLength(model.config);
  if (!(Number.isInteger(batch) && batch >= 1)) throw new WgpruneError(`latency: the batch size must be a positive integer, got ${batch}`);
  if (!(Number.isInteger(seq) && seq >= 1 && seq <= max)) throw new WgpruneError(`latency: the sequence length must be an integer in 1..${max} (the model's positions), got ${seq}`);
  const b = randomBatch(model, batch, seq);
  return timeStep(model.rt, () => {
    const out = model.forward(b);
    return out.kind === 'classification' ? out.logits : [out.start, out.end];
  }, timing);
}

/** Piecewise-linear latency of a block against the units it keeps: `zero` with none, `constant` up to `threshold`, then `slope` ms a unit. */
export interface LatencyFit {
  zero: number;
  constant: number;
  threshold: number;
  slope: number;
}

export function latencyOf(fit: LatencyFit, kept: number): number {
  if (kept <= 0) return fit.zero;
  return fit.constant + fit.slope * Math.max(0, kept - fit.threshold);
}

/**
 * Least-squares fit of `constant + slope · max(0, kept − threshold)` to measured points
 * (kept ≥ 1), the threshold tried at every measured count and the best kept (slope ≥ 0);
 * the point at 0 kept, if measured, is `zero`. This is the reference code's shape: flat
 * while the device is not full, then linear.
 */
export function fitLatency(points: readonly { kept: number; ms: number }[]): LatencyFit {
  const zeroPoint = points.find((p) => p.kept === 0);
  const pts = points.filter((p) => p.kept > 0);
  if (pts.length === 0) throw new WgpruneError('fitLatency: no measurement with units kept');
  let best: LatencyFit & { sse: number } = { zero: 0, constant: 0, threshold: 0, slope: 0, sse: Infinity };
  for (const { kept: t } of pts) {
    const xs = pts.map((p) => Math.max(0, p.kept - t)), ys = pts.map((p) => p.ms);
    const n = pts.length, mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
    let sxy = 0, sxx = 0;
    for (let i = 0; i < n; i++) { sxy += (xs[i]! - mx) * (ys[i]! - my); sxx += (xs[i]! - mx) ** 2; }
    const slope = sxx > 0 ? Math.max(0, sxy / sxx) : 0;
    const constant = my - slope * mx;
    const sse = ys.reduce((s, y, i) => s + (y - constant - slope * xs[i]!) ** 2, 0);
    if (best.sse === Infinity || sse < best.sse - 1e-12 * Math.max(1, best.sse)) best = { zero: 0, constant, threshold: t, slope, sse };
  }
  return { zero: zeroPoint ? zeroPoint.ms : 0, constant: best.constant, threshold: best.threshold, slope: best.slope };
}

/** The shape a latency table was measured for. */
export interface LutShape {
  hidden: number;
  heads: number;
  intermediate: number;
  batch: number;
  seq: number;
}

/** A latency lookup table: one attention block against its heads, one FFN against its neurons, on one adapter. */
export interface LatencyLut {
  adapter: string;
  shape: LutShape;
  attention: { kept: number; ms: number }[];
  ffn: { kept: number; ms: number }[];
  fit: { attention: LatencyFit; ffn: LatencyFit };
  /** Neurons between FFN measurements (coarser on software adapters). */
  ffnStep: number;
}

function randomLinear(out: number, inDim: number, next: () => number): LinearArrays {
  const scale = 1 / Math.sqrt(Math.max(1, inDim));
  return { weight: Float32Array.from({ length: out * inDim }, () => (next() * 2 - 1) * scale), bias: Float32Array.from({ length: out }, () => (next() * 2 - 1) * 0.1), out, in: inDim };
}

/** A layer of random weights with `heads` heads and `neurons` neurons (latency does not depend on the values). */
function randomLayer(shape: LutShape, heads: number, neurons: number): LayerArrays {
  const next = seededRandom(12345);
  const d = shape.hidden, att = heads * (shape.hidden / shape.heads);
  const norm = () => ({ gamma: new Float32Array(d).fill(1), beta: new Float32Array(d) });
  return {
    heads, neurons,
    query: randomLinear(att, d, next), key: randomLinear(att, d, next), value: randomLinear(att, d, next), attentionOutput: randomLinear(d, att, next),
    attentionNorm: norm(), intermediate: randomLinear(neurons, d, next), output: randomLinear(d, neurons, next), outputNorm: norm(),
  };
}

/**
 * Measures the latency table on this runtime's adapter for a model's shape: the attention
 * sub-layer (projections, attention, output projection, residual, LayerNorm) with 0 … A heads,
 * and the FFN sub-layer with 0 … I neurons every `ffnStep` (default I/32 on a GPU, I/16 on a
 * software adapter), on random inputs of [batch, seq]; then fits each.
 */
export async function measureLut(rt: Runtime, shape: LutShape, { ffnStep, onProgress, timing = {} }: {
  ffnStep?: number; onProgress?: (done: number, total: number) => void; timing?: Parameters<typeof timeStep>[2];
} = {}): Promise<LatencyLut> {
  // A coarser grid on a CPU adapter (lavapipe, SwiftShader) keeps the table to a minute or two there.
  const step = ffnStep ?? Math.max(1, Math.floor(shape.intermediate / (rt.adapter.software ? 16 : 32)));
  const neuronCounts = [...new Set([0, ...Array.from({ length: Math.floor(shape.intermediate / step) + 1 }, (_, i) => i * step), shape.intermediate])]
    .filter((n) => n <= shape.intermediate).sort((a, b) => a - b);
  const headCounts = Array.from({ length: shape.heads + 1 }, (_, i) => i);
  const total = headCounts.length + neuronCounts.length;
  let done = 0;
  const x = rt.keep(rt.tensor(Float32Array.from({ length: shape.batch * shape.seq * shape.hidden }, (_, i) => Math.sin(i)), [shape.batch, shape.seq, shape.hidden]));
  // One sub-layer with each count of its units, timed from its input to its LayerNorm.
  const measure = async (counts: number[], layerOf: (k: number) => LayerArrays, run: (w: LayerWeights) => Tensor) => {
    const points: { kept: number; ms: number }[] = [];
    for (const kept of counts) {
      const w = uploadLayer(rt, layerOf(kept));
      try {
        points.push({ kept, ms: (await timeStep(rt, () => rt.tidy(() => run(w)), timing)).medianMs });
      } finally {
        disposeLayer(w);
      }
      onProgress?.(++done, total);
    }
    return points;
  };
  let attention: { kept: number; ms: number }[], ffn: { kept: number; ms: number }[];
  try {
    attention = await measure(headCounts, (h) => randomLayer(shape, h, 0), (w) => attentionBlock(x, w, { heads: w.keptHeads, eps: 1e-12 }).out);
    ffn = await measure(neuronCounts, (n) => randomLayer(shape, 0, n), (w) => ffnBlock(x, w, 1e-12).out);
  } finally {
    x.dispose();
  }
  return { adapter: describeAdapter(rt.adapter), shape, attention, ffn, fit: { attention: fitLatency(attention), ffn: fitLatency(ffn) }, ffnStep: step };
}

/**
 * Why `lut` does not fit this adapter and model shape, or null. Checked before a prune uses
 * it: a table from another device or shape prices the wrong thing.
 */
export function lutMismatch(lut: LatencyLut, adapter: string, shape: Omit<LutShape, 'batch' | 'seq'>): string | null {
  const problems: string[] = [];
  if (lut.adapter !== adapter) problems.push(`it was measured on "${lut.adapter}", this is "${adapter}"`);
  const want = `hidden ${shape.hidden}, ${shape.heads} heads, ${shape.intermediate} neurons`;
  const got = `hidden ${lut.shape.hidden}, ${lut.shape.heads} heads, ${lut.shape.intermediate} neurons`;
  if (want !== got) problems.push(`it is for a model of ${got}, this one has ${want}`);
  return problems.length ? problems.join('; ') : null;
}

/** Reads a table's JSON, checking its fields. */
export function parseLut(json: unknown, file = 'lut.json'): LatencyLut {
  const bad = (what: string) => new WgpruneError(`${file}: ${what}; make one with \`wgprune lut\``);
  if (!json || typeof json !== 'object') throw bad('not a JSON object');
  const l = json as Partial<LatencyLut>;
  if (typeof l.adapter !== 'string') throw bad('"adapter" is missing');
  const s = l.shape;
  if (!s || !['hidden', 'heads', 'intermediate', 'batch', 'seq'].every((k) => Number.isInteger((s as unknown as Record<string, unknown>)[k]) && (s as unknown as Record<string, number>)[k]! > 0)) throw bad('"shape" must hold positive integers hidden, heads, intermediate, batch, seq');
  const fitOk = (f: unknown) => !!f && ['zero', 'constant', 'threshold', 'slope'].every((k) => Number.isFinite((f as Record<string, unknown>)[k]) && (f as Record<string, number>)[k]! >= 0);
  if (!l.fit || !fitOk(l.fit.attention) || !fitOk(l.fit.ffn)) throw bad('"fit" must hold attention and ffn fits of finite, non-negative zero, constant, threshold and slope');
  if (!Array.isArray(l.attention) || !Array.isArray(l.ffn)) throw bad('"attention" and "ffn" measurements are missing');
  return l as LatencyLut;
}

/** Latency of an encoder with these kept heads and neurons per layer, from a table's fits, ms. */
export function encoderLatency(lut: LatencyLut, heads: readonly number[], neurons: readonly number[]): number {
  let ms = 0;
  heads.forEach((h, l) => { ms += latencyOf(lut.fit.attention, h) + latencyOf(lut.fit.ffn, neurons[l]!); });
  return ms;
}

/**
 * The mask search of docs/method.md step 2 under a latency constraint: a fraction of the
 * unpruned encoder's latency as the table prices it. Each layer's attention and FFN cost
 * their table fits of the heads (neurons) they keep, so a block kept at all pays its
 * constant, and a block dropped entirely saves it; within a layer the most important units
 * are kept. The split of the budget between blocks is a knapsack over the 2L blocks, solved
 * exactly by dynamic programming on costs rounded up to 1/`resolution` of the budget (so the
 * result never exceeds it). Returns the same masks and counts as searchByFlops, with the
 * MACs of the result under `shape`.
 */
export function searchByLatency(
  headImportance: ArrayLike<number>, neuronImportance: ArrayLike<number>, shape: CostShape, lut: LatencyLut, constraint: number, { resolution = 4000 } = {},
): SearchResult & { latency: { ms: number; fullMs: number; fraction: number } } {
  if (!(constraint > 0 && constraint < 1)) throw new WgpruneError(`searchByLatency: the constraint is a fraction of the latency in (0, 1), got ${constraint}`);
  const { layers: L, heads: A, intermediate: I } = shape;
  if (headImportance.length !== L * A || neuronImportance.length !== L * I) throw new WgpruneError(`searchByLatency: expected ${L * A} head and ${L * I} neuron importances`);
  const full = encoderLatency(lut, Array(L).fill(A), Array(L).fill(I));
  const budget = constraint * full, unit = budget / resolution;
  // Items: each layer's attention, then each layer's FFN; choice c keeps the c most important units.
  const items = [
    ...Array.from({ length: L }, (_, l) => ({ kind: 'head' as const, layer: l, k: A, imp: headImportance, fit: lut.fit.attention })),
    ...Array.from({ length: L }, (_, l) => ({ kind: 'neuron' as const, layer: l, k: I, imp: neuronImportance, fit: lut.fit.ffn })),
  ].map((it) => {
    const values = Array.from({ length: it.k }, (_, j) => it.imp[it.layer * it.k + j]!);
    const order = values.map((_, j) => j).sort((a, b) => values[b]! - values[a]! || a - b);
    const prefix = new Float64Array(it.k + 1);
    order.forEach((j, i) => { prefix[i + 1] = prefix[i]! + values[j]!; });
    const cost = Int32Array.from({ length: it.k + 1 }, (_, c) => Math.ceil(latencyOf(it.fit, c) / unit - 1e-9));
    return { ...it, order, prefix, cost };
  });
  const B = resolution;
  let dp = new Float64Array(B + 1).fill(0);
  const choice = items.map(() => new Int32Array(B + 1));
  items.forEach((it, n) => {
    const next = new Float64Array(B + 1).fill(-Infinity);
    const ch = choice[n]!;
    for (let c = 0; c <= it.k; c++) {
      const cost = it.cost[c]!, value = it.prefix[c]!;
      if (cost > B) continue;
      for (let b = cost; b <= B; b++) {
        const v = dp[b - cost]! + value;
        if (v > next[b]!) { next[b] = v; ch[b] = c; }
      }
    }
    dp = next;
  });
  if (!(dp[B]! > -Infinity)) throw new WgpruneError(`searchByLatency: a constraint of ${constraint} is less than the latency of the encoder with every block removed`);
  const headMask = Array.from({ length: L }, () => new Uint8Array(A)), neuronMask = Array.from({ length: L }, () => new Uint8Array(I));
  let b = B, score = dp[B]!;
  const keptHeads = new Array<number>(L).fill(0), keptNeurons = new Array<number>(L).fill(0);
  for (let n = items.length - 1; n >= 0; n--) {
    const it = items[n]!, c = choice[n]![b]!;
    const mask = it.kind === 'head' ? headMask[it.layer]! : neuronMask[it.layer]!;
    for (let i = 0; i < c; i++) mask[it.order[i]!] = 1;
    (it.kind === 'head' ? keptHeads : keptNeurons)[it.layer] = c;
    b -= it.cost[c]!;
  }
  const heads = keptHeads.reduce((a, v) => a + v, 0), neurons = keptNeurons.reduce((a, v) => a + v, 0);
  const macs = encoderMacs(shape, heads, neurons), ms = encoderLatency(lut, keptHeads, keptNeurons);
  score = Number(score.toPrecision(15));
  return { headMask, neuronMask, heads, neurons, macs, fraction: macs / encoderMacs(shape), score, latency: { ms, fullMs: full, fraction: ms / full } };
}
