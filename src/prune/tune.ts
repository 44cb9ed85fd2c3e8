import { NotPositiveDefiniteError } from '../linalg/cholesky.js';
import { solveNormalEquations } from '../linalg/solve.js';
import { attentionBlock, ffnBlock, linearForward } from '../models/encoder.js';
import type { EncoderModel } from '../models/model.js';
import type { LayerWeights } from '../models/weights.js';
import { add, mul, sub } from '../ops/elementwise.js';
import { applyMask } from '../ops/mask.js';
import { matmul } from '../ops/matmul.js';
import { sum } from '../ops/reduce.js';
import { ShapeError, WgpruneError } from '../runtime/errors.js';
import type { Tensor } from '../runtime/tensor.js';
import type { SampleBatch } from './fisher.js';
import { disposeLayer, keptIndices, pruneLayer, readLayer, uploadLayer, type LayerArrays } from './fold.js';

/** Per-layer mask values: [layers][heads] and [layers][intermediate], 0 where pruned. */
export interface Masks {
  head: number[][];
  neuron: number[][];
}

export interface TuneOptions {
  /** Ridge toward m = 1: (G + damping I) δ = Aᵀb − G·1 (the reference code's damping, 1). */
  damping?: number;
  /** Tune layer 0's attention too (the reference code skips it). */
  firstAttention?: boolean;
  /** Binary masks of the teacher whose sub-layer outputs are the targets (default: the unpruned model). */
  teacher?: Masks;
  /** The last layer's FFN reconstructs only the first token of each sequence (classification). */
  firstTokenOnly?: boolean;
  /** Guard: a tuned value outside [−bound, bound] stops tuning (the reference code's 10). */
  bound?: number;
  /** Called after each sub-layer: done and total sub-layers. */
  onProgress?: (done: number, total: number) => void;
}

/** What happened to one sub-layer. */
export interface TuneLogEntry {
  layer: number;
  block: 'attention' | 'ffn';
  /** Heads or neurons kept (the unknowns of its least squares). */
  size: number;
  status: 'tuned' | 'skipped' | 'empty' | 'stopped' | 'not reached';
  /** Smallest and largest tuned value (tuned), or the offending ones (stopped). */
  min?: number;
  max?: number;
  reason?: string;
  ms: number;
}

export interface TunedMasks extends Masks {
  log: TuneLogEntry[];
  /** Where the guard stopped tuning, if it did. */
  stopped?: { layer: number; block: 'attention' | 'ffn'; reason: string };
}

const float32Min = -3.4028234663852886e38;

/** A damped solve's values with their range, or why the guard stops. */
type Solved = { values: Float64Array; min: number; max: number } | { reason: string; min?: number; max?: number };

/** Per batch, what every layer's passes share: the key bias and the row masks of the least squares. */
interface BatchState {
  batch: SampleBatch;
  keyBias: Tensor;
  /** [batch·seq]: 1 on tokens, 0 on padding; and 1 on each sequence's first token only. */
  tokens: Tensor;
  first: Tensor;
  /** Input of the current layer: the teacher's and the student's (the pruned model with the masks tuned so far). */
  teacher: Tensor;
  student: Tensor;
  /** Kept between the passes over one layer: the teacher's attention sum before LayerNorm and its layer output, the student's attention output. */
  /** The teacher's attention block output, kept between a layer's two passes. */
  teacherH1?: Tensor;
  teacherOut?: Tensor;
  studentH1?: Tensor;
}

/**
 * Step 4 of docs/method.md: the mask values, layer by layer from the first, by least squares.
 * Each sub-layer's kept heads (neurons) are the columns of A; its target is the teacher's
 * sub-layer output before LayerNorm with the student's own residual input and the output
 * bias taken off, so that A m ≈ b is linear in the kept mask values m. The student runs the
 * physically pruned layers with the values tuned so far folded in (src/prune/fold.ts), so
 * its inputs carry the errors of the layers before. The normal equations are accumulated on
 * the device over all batches, padding rows zeroed:
 * - heads: with C = Σ_t ctx(t)ᵀ ctx(t) and M = W_oᵀ W_o ([kept·headDim]²), (AᵀA)_hg is the
 *   sum of block (h, g) of C ∘ M, and (Aᵀb)_h the sum over the head's columns of
 *   Σ_t ctx(t) ∘ (b(t) W_o): no [heads, tokens, hidden] tensor is formed;
 * - neurons: AᵀA = (aᵀa) ∘ (W2ᵀ W2), Aᵀb = Σ_t a(t) ∘ (b(t) W2).
 * The damped solve toward 1, (G + damping I) δ = Aᵀb − G·1, m = 1 + δ, is solveNormalEquations.
 * Guard: a failed solve or a value outside [−bound, bound] stops tuning there; what was
 * tuned before is kept and the rest keeps its input values.
 * `masks` are the binary masks of steps 2-3; the model must be unpruned.
 */
export async function tuneMasks(model: EncoderModel, batches: readonly SampleBatch[], masks: Masks, options: TuneOptions = {}): Promise<TunedMasks> {
  const rt = model.rt, c = model.config, L = model.weights.layers.length;
  const damping = options.damping ?? 1, bound = options.bound ?? 10;
  if (!(damping >= 0 && Number.isFinite(damping))) throw new WgpruneError(`tuneMasks: damping must be a finite number >= 0, got ${damping}`);
  if (batches.length === 0) throw new WgpruneError('tuneMasks: the sample set is empty');
  const check = (m: Masks, what: string) => {
    if (m.head.length !== L || m.neuron.length !== L || m.head.some((h) => h.length !== c.heads) || m.neuron.some((n) => n.length !== c.intermediate)) {
      throw new ShapeError(`tuneMasks: ${what} must be ${L} layers of ${c.heads} head and ${c.intermediate} neuron values`);
    }
  };
  check(masks, 'masks');
  if (options.teacher) check(options.teacher, 'the teacher masks');
  if (model.weights.layers.some((w) => w.keptHeads !== c.heads || w.keptNeurons !== c.intermediate)) {
    throw new WgpruneError('tuneMasks: the model is physically pruned; masks are tuned on the unpruned model');
  }
  const head = masks.head.map((h) => Array.from(h)), neuron = masks.neuron.map((n) => Array.from(n));
  const headDim = c.hidden / c.heads;
  const log: TuneLogEntry[] = [];
  let stopped: TunedMasks['stopped'];
  const total = 2 * L;

  const states: BatchState[] = batches.map((b) => {
    const { batch, seq, attentionMask } = b.tokens;
    const x = rt.keep(model.embed(b.tokens));
    return {
      batch: b,
      keyBias: rt.keep(rt.tensor(Float32Array.from(attentionMask, (m) => (m ? 0 : float32Min)), [batch, seq])),
      tokens: rt.keep(rt.tensor(Float32Array.from(attentionMask, (m) => (m ? 1 : 0)), [batch * seq])),
      first: rt.keep(rt.tensor(Float32Array.from(attentionMask, (m, i) => (m && i % seq === 0 ? 1 : 0)), [batch * seq])),
      teacher: x, student: x,
    };
  });
  const uploaded: LayerWeights[] = [];
  const upload = (l: LayerArrays) => { const w = uploadLayer(rt, l); uploaded.push(w); return w; };
  const release = (w: LayerWeights) => { uploaded.splice(uploaded.indexOf(w), 1); disposeLayer(w); };

  /**
   * Solves one sub-layer's damped system from the accumulated normal equations (read back
   * as float64); returns the values, or why the guard stops.
   */
  const solve = async (g: Float64Array, r: Float64Array, k: number): Promise<Solved> => {
    // (G + λI) δ = r − G·1.
    const rhs = new Float64Array(k);
    for (let i = 0; i < k; i++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += g[i * k + j]!;
      rhs[i] = r[i]! - s;
    }
    let delta: Float64Array;
    try {
      delta = await solveNormalEquations(rt, g, rhs, k, damping);
    } catch (e) {
      if (e instanceof NotPositiveDefiniteError) return { reason: `the damped solve failed (${e.message})` };
      throw e;
    }
    const values = delta.map((d) => 1 + d);
    let min = Infinity, max = -Infinity;
    for (const v of values) { min = Math.min(min, v); max = Math.max(max, v); }
    if (!values.every(Number.isFinite)) return { reason: 'the solve gave non-finite values' };
    if (min < -bound || max > bound) return { reason: `a value left [${-bound}, ${bound}]`, min, max };
    return { values, min, max };
  };

  /**
   * One sub-layer's outcome: the tuned values written into the layer's mask at `units` and
   * logged, or where the guard stopped recorded. True when tuned.
   */
  const settle = (layer: number, block: 'attention' | 'ffn', units: readonly number[], mask: number[], out: Solved, entry: (status: TuneLogEntry['status'], extra?: Partial<TuneLogEntry>) => void): boolean => {
    if ('values' in out) {
      units.forEach((u, i) => { mask[u] = out.values[i]!; });
      entry('tuned', { min: out.min, max: out.max });
      return true;
    }
    stopped = { layer, block, reason: out.reason };
    entry('stopped', { reason: out.reason, ...(out.min !== undefined ? { min: out.min, max: out.max } : {}) });
    return false;
  };

  try {
    for (let l = 0; l < L; l++) {
      const cpu = await readLayer(model.weights.layers[l]!);
      const teacherLayer = options.teacher ? upload(pruneLayer(cpu, options.teacher.head[l]!, options.teacher.neuron[l]!)) : model.weights.layers[l]!;
      let student = upload(pruneLayer(cpu, head[l]!, neuron[l]!));
      const eps = c.layerNormEps;

      // --- attention: the teacher's attention output is kept for the FFN pass ---
      let t0 = performance.now();
      const heads = keptIndices(head[l]!);
      const attEntry = (status: TuneLogEntry['status'], extra: Partial<TuneLogEntry> = {}) =>
        log.push({ layer: l, block: 'attention', size: heads.length, status, ...extra, ms: performance.now() - t0 });
      const tuneAttention = !stopped && heads.length > 0 && (l > 0 || options.firstAttention);
      const kd = heads.length * headDim, wo = student.attentionOutput.weight;
      let gram = tuneAttention ? rt.keep(rt.tensor(new Float32Array(kd * kd), [kd, kd])) : undefined;
      let rhs = tuneAttention ? rt.keep(rt.tensor(new Float32Array(kd), [kd])) : undefined;
      for (const s of states) {
        const { batch, seq } = s.batch.tokens, T = batch * seq;
        const out = rt.tidy((): { h1: Tensor; gram?: Tensor; rhs?: Tensor } => {
          const t = attentionBlock(s.teacher, teacherLayer, { heads: teacherLayer.keptHeads, eps }, { keyBias: s.keyBias });
          if (!gram || !rhs) return { h1: t.out };
          const st = attentionBlock(s.student, student, { heads: student.keptHeads, eps }, { keyBias: s.keyBias });
          const ctx = applyMask(st.context!.reshape([T, kd]), s.tokens, 0);
          const target = sub(sub(t.residual, s.student), student.attentionOutput.bias).reshape([T, c.hidden]);
          const projected = matmul(target, wo); // [T, kd]: b(t) W_o
          return { h1: t.out, gram: add(gram, matmul(ctx, ctx, { transA: true })), rhs: add(rhs, sum(mul(ctx, projected), 0)) };
        });
        s.teacherH1 = rt.keep(out.h1);
        if (out.gram && out.rhs) {
          gram!.dispose(); rhs!.dispose();
          gram = rt.keep(out.gram); rhs = rt.keep(out.rhs);
        }
      }
      if (stopped) attEntry('not reached');
      else if (heads.length === 0) attEntry('empty');
      else if (!tuneAttention) attEntry('skipped', { reason: 'layer 0 attention is not tuned (as the reference code); --tune-first-attention tunes it' });
      else {
        const m = matmul(wo, wo, { transA: true });
        const [C, R, M] = await Promise.all([gram!.read(), rhs!.read(), m.read()]);
        for (const x of [gram!, rhs!, m]) x.dispose();
        const k = heads.length, G = new Float64Array(k * k), r = new Float64Array(k);
        for (let h = 0; h < k; h++) {
          for (let i = 0; i < headDim; i++) r[h]! += R[h * headDim + i]!;
          for (let g = 0; g < k; g++) {
            let sum = 0;
            for (let i = 0; i < headDim; i++) {
              const row = (h * headDim + i) * kd + g * headDim;
              for (let j = 0; j < headDim; j++) sum += C[row + j]! * M[row + j]!;
            }
            G[h * k + g] = sum;
          }
        }
        if (settle(l, 'attention', heads, head[l]!, await solve(G, r, k), attEntry)) {
          release(student);
          student = upload(pruneLayer(cpu, head[l]!, neuron[l]!));
        }
      }
      options.onProgress?.(2 * l + 1, total);

      // --- FFN: the teacher's layer output and the student's attention output are kept ---
      t0 = performance.now();
      const neurons = keptIndices(neuron[l]!);
      const ffnEntry = (status: TuneLogEntry['status'], extra: Partial<TuneLogEntry> = {}) =>
        log.push({ layer: l, block: 'ffn', size: neurons.length, status, ...extra, ms: performance.now() - t0 });
      const tuneFfn = !stopped && neurons.length > 0;
      const k = neurons.length, w2 = student.output.weight;
      const rows = options.firstTokenOnly && l === L - 1 ? 'first' : 'tokens';
      let ffnGram = tuneFfn ? rt.keep(rt.tensor(new Float32Array(k * k), [k, k])) : undefined;
      let ffnRhs = tuneFfn ? rt.keep(rt.tensor(new Float32Array(k), [k])) : undefined;
      if (!stopped) {
        for (const s of states) {
          const { batch, seq } = s.batch.tokens, T = batch * seq;
          const out = rt.tidy((): { teacherOut: Tensor; studentH1: Tensor; gram?: Tensor; rhs?: Tensor } => {
            const th1 = s.teacherH1!;
            const tf = ffnBlock(th1, teacherLayer, eps);
            const sh1 = attentionBlock(s.student, student, { heads: student.keptHeads, eps }, { keyBias: s.keyBias }).out;
            const next = { teacherOut: tf.out, studentH1: sh1 };
            if (!ffnGram || !ffnRhs) return next;
            const act = applyMask(linearForward(sh1, student.intermediate, { gelu: true }).reshape([T, k]), s[rows], 0);
            const target = sub(sub(tf.residual, sh1), student.output.bias).reshape([T, c.hidden]);
            const projected = matmul(target, w2); // [T, k]: b(t) W2
            return { ...next, gram: add(ffnGram, matmul(act, act, { transA: true })), rhs: add(ffnRhs, sum(mul(act, projected), 0)) };
          });
          s.teacherH1!.dispose();
          s.teacherH1 = undefined;
          s.teacherOut = rt.keep(out.teacherOut);
          s.studentH1 = rt.keep(out.studentH1);
          if (out.gram && out.rhs) {
            ffnGram!.dispose(); ffnRhs!.dispose();
            ffnGram = rt.keep(out.gram); ffnRhs = rt.keep(out.rhs);
          }
        }
      }
      if (stopped) ffnEntry('not reached');
      else if (!tuneFfn) ffnEntry('empty');
      else {
        const full = rt.tidy(() => mul(ffnGram!, matmul(w2, w2, { transA: true })));
        const [G32, R] = await Promise.all([full.read(), ffnRhs!.read()]);
        for (const x of [ffnGram!, ffnRhs!, full]) x.dispose();
        if (settle(l, 'ffn', neurons, neuron[l]!, await solve(Float64Array.from(G32), Float64Array.from(R), k), ffnEntry)) {
          release(student);
          student = upload(pruneLayer(cpu, head[l]!, neuron[l]!));
        }
      }
      options.onProgress?.(2 * l + 2, total);

      // --- next layer's inputs: the teacher's kept output, the student's FFN on its kept h1 ---
      for (const s of states) {
        if (!stopped && l < L - 1) {
          const out = rt.keep(rt.tidy(() => ffnBlock(s.studentH1!, student, eps).out));
          if (s.teacher !== s.student) s.teacher.dispose();
          s.student.dispose();
          s.teacher = s.teacherOut!; s.student = out;
        } else {
          s.teacherOut?.dispose();
        }
        s.studentH1?.dispose();
        s.teacherOut = undefined; s.studentH1 = undefined;
        s.teacherH1?.dispose(); s.teacherH1 = undefined;
      }
      release(student);
      if (options.teacher) release(teacherLayer);
      if (stopped) {
        for (let rest = l + 1; rest < L; rest++) {
          log.push({ layer: rest, block: 'attention', size: keptIndices(head[rest]!).length, status: 'not reached', ms: 0 });
          log.push({ layer: rest, block: 'ffn', size: keptIndices(neuron[rest]!).length, status: 'not reached', ms: 0 });
        }
        options.onProgress?.(total, total);
        break;
      }
    }
  } finally {
    for (const w of [...uploaded]) release(w);
    for (const s of states) {
      for (const t of new Set([s.keyBias, s.tokens, s.first, s.teacher, s.student, s.teacherH1, s.teacherOut, s.studentH1])) t?.dispose();
    }
  }
  return { head, neuron, log, ...(stopped ? { stopped } : {}) };
}
