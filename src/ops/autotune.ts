// Kernel tuning per adapter. The kernels' defaults were chosen on software adapters
// (lavapipe, SwiftShader); on an adapter no one here has seen, the first use times the few
// variants that matter for the shapes a model will run and keeps the fastest:
// - matmul: per shape class (`matmulShapeClass`: M rounded up to a power of two, K, N, the
//   transposes, batched or not), each kernel the adapter can run for it ('texture',
//   'subgroup', 'general': what `chooseKernel` allows; a GPU without CPU-like subgroups has
//   only 'general', so nothing is timed there);
// - the row-wise kernels (LayerNorm, softmax, and the mask gradient, which share the flag):
//   a row per invocation, or a workgroup per row (`Tuning.rowPerThread`, one flag for the
//   runtime: the variant with the least total time over the workload's row shapes).
// Each variant: one warm-up run (pipelines compile there), then the median of `repeats` (3)
// runs, or only the first when it took over `slowMs` (100 ms) or over twice the fastest
// variant's time so far; each timed from recording the launches until `await rt.sync()`
// returns. The decisions go into `rt.tuning` (matmulChoices, rowPerThread), under whatever
// `RuntimeOptions.tuning` gave, which always wins, and into a cache per adapter and shape
// class (a JSON file in Node, src/io/tuning-file.ts; memory in a browser), so later runs
// time nothing. `WGPRUNE_TUNE=off` (or `tune: false`) keeps the defaults.
//
// Cost: sst2-mini at its sample batches' typical 32 x 10 tokens is 4 row shapes (2 variants)
// and 9 matmul classes (2 or 3 kernels each; the subgroup-from-storage kernel is not timed
// where the texture one runs, see below), about 60 timed runs: 4.1 s on lavapipe (2 busy
// cores) with Mesa's shader cache warm, 2 ms from our cache after that. Compiling is the
// rest: a variant's first run compiles its pipelines, and on lavapipe with a cold Mesa shader
// cache the subgroup matmul kernels took 40-80 s each to compile (cached by Mesa on disk
// after that). `budgetMs` (default 10 s: no variant is begun past it) and `maxClasses` (16)
// bound a run; a class past the bound keeps its default and is not cached, so later runs
// finish the tuning.
import { DeviceLostError, DisposedError, WgpruneError } from '../runtime/errors.js';
import { describeAdapter } from '../runtime/gpu.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Tensor } from '../runtime/tensor.js';
import { layernormBackward, layernormForward } from './layernorm.js';
import { maskGradient } from './mask.js';
import { chooseKernel, matmul, matmulShapeClass, type MatmulKernel, type MatmulShape } from './matmul.js';
import { softmaxBackward, softmaxForward } from './softmax.js';

/** The package's version (package.json's; a test keeps them equal): part of the cache's adapter key. */
export const wgpruneVersion = '0.1.0';

/** One matmul a model runs: `batch` matrices (1: a linear layer, whose rows fold into M) of op(A) [M, K] x op(B) [K, N]. */
export interface WorkloadMatmul {
  what: string;
  batch: number;
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
  bias?: boolean;
  gelu?: boolean;
}

/** One row-wise op a model runs, `count` times per layer (forward and backward). */
export type WorkloadRows =
  /** LayerNorm forward and backward over rows of `cols`. */
  | { what: string; op: 'layernorm'; rows: number; cols: number; count: number }
  /** Softmax forward (with a key mask of `biasRows` rows) and backward over rows of `cols`. */
  | { what: string; op: 'softmax'; rows: number; cols: number; biasRows: number; count: number }
  /** The per-example mask gradient of a tensor of `shape` along `axis`. */
  | { what: string; op: 'maskGradient'; shape: number[]; axis: number; count: number };

/** The shapes a model runs: what tuneKernels times. */
export interface Workload {
  matmuls: WorkloadMatmul[];
  rows: WorkloadRows[];
}

/**
 * The shapes one Fisher step of a BERT-style encoder runs at `batch` sequences of `seq`
 * tokens (T = batch · seq): the linear layers x Wᵀ (M = T; query, key, value and the
 * attention output H → H, the intermediate H → I with GELU, the output I → H, each with its
 * bias), their backward dy W, LayerNorm's rows (T x H), softmax's (batch · heads · seq x
 * seq) and the mask gradients of heads and neurons. Attention's per-head products are not
 * timed: they run through headsMatmul (src/ops/heads.ts), which on the texture kernel reads
 * the heads where they lie; timed as plain batched matmuls, the general kernel looked
 * faster (it skips the strided pack), and choosing it would bring back the permuting
 * copies into heads and out.
 */
export function modelWorkload(config: { hidden: number; heads: number; intermediate: number }, { batch, seq }: { batch: number; seq: number }): Workload {
  const { hidden: H, heads, intermediate: I } = config;
  for (const [name, v] of Object.entries({ hidden: H, heads, intermediate: I, batch, seq })) {
    if (!(Number.isInteger(v) && v >= 1)) throw new WgpruneError(`modelWorkload: ${name} must be a positive integer, got ${v}`);
  }
  if (H % heads !== 0) throw new WgpruneError(`modelWorkload: hidden size ${H} is not divisible into ${heads} heads`);
  const T = batch * seq, dh = H / heads, bh = batch * heads;
  const linear = (what: string, K: number, N: number, gelu = false): WorkloadMatmul => ({ what, batch: 1, M: T, K, N, transA: false, transB: true, bias: true, ...(gelu ? { gelu } : {}) });
  const backward = (what: string, K: number, N: number): WorkloadMatmul => ({ what, batch: 1, M: T, K, N, transA: false, transB: false });
  return {
    matmuls: [
      linear('query, key, value, attention output', H, H),
      linear('intermediate (GELU)', H, I, true),
      linear('output', I, H),
      backward('backward of query, key, value, attention output', H, H),
      backward('backward of the intermediate', I, H),
      backward('backward of the output', H, I),
    ],
    rows: [
      { what: 'LayerNorm', op: 'layernorm', rows: T, cols: H, count: 2 },
      { what: 'attention softmax', op: 'softmax', rows: bh * seq, cols: seq, biasRows: batch, count: 1 },
      { what: 'head mask gradient', op: 'maskGradient', shape: [batch, seq, heads, dh], axis: 2, count: 1 },
      { what: 'neuron mask gradient', op: 'maskGradient', shape: [batch, seq, I], axis: 2, count: 1 },
    ],
  };
}

/** What the cache keeps per adapter and shape class: each variant's time (ms; null: it failed) and the fastest. */
export interface CachedChoice {
  best: string;
  ms: Record<string, number | null>;
}

/**
 * Where tuned choices are kept: per adapter key (describeAdapter and the package version),
 * per shape class. `save` merges into what is kept. Neither may throw for a bad store: a
 * corrupt or foreign one reads as empty (the file cache warns once).
 */
export interface TuningCache {
  /** For messages: the file's path, or 'memory'. */
  readonly where: string;
  load(adapter: string): Promise<Record<string, CachedChoice>>;
  /** Merges `entries` into what is kept for the adapter; false when they could not be kept. */
  save(adapter: string, entries: Record<string, CachedChoice>): Promise<boolean>;
}

/** A cache in this process's memory (the browser's; tests'). */
export function memoryTuningCache(): TuningCache {
  const adapters = new Map<string, Record<string, CachedChoice>>();
  return {
    where: 'memory',
    load: async (adapter) => structuredClone(adapters.get(adapter) ?? {}),
    save: async (adapter, entries) => { adapters.set(adapter, { ...adapters.get(adapter), ...structuredClone(entries) }); return true; },
  };
}

/** The default cache of tuneKernels: one per page or process, in memory (the CLI passes the file cache). */
const sharedMemoryCache = memoryTuningCache();

/** The format of the tuning cache file: `{ format, version, adapters: { [adapter]: { [class]: CachedChoice } } }`. */
export const tuningFileFormat = 'wgprune kernel tuning';
export const tuningFileVersion = 1;
export type TuningFile = { format: string; version: number; adapters: Record<string, Record<string, CachedChoice>> };

/** A cache file's content checked: its adapters (bad entries dropped), or why it is not one of ours. */
export function parseTuningFile(json: unknown): TuningFile | string {
  const o = json as Partial<TuningFile> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return 'not a JSON object';
  if (o.format !== tuningFileFormat) return `its "format" is not "${tuningFileFormat}"`;
  if (o.version !== tuningFileVersion) return `version ${String(o.version)}, this wgprune reads ${tuningFileVersion}`;
  if (!o.adapters || typeof o.adapters !== 'object' || Array.isArray(o.adapters)) return 'no "adapters" object';
  const adapters: TuningFile['adapters'] = {};
  for (const [adapter, classes] of Object.entries(o.adapters)) {
    if (!classes || typeof classes !== 'object' || Array.isArray(classes)) continue;
    const kept: Record<string, CachedChoice> = {};
    for (const [key, entry] of Object.entries(classes as Record<string, unknown>)) {
      if (isCachedChoice(entry)) kept[key] = { best: entry.best, ms: { ...entry.ms } };
    }
    adapters[adapter] = kept;
  }
  return { format: tuningFileFormat, version: tuningFileVersion, adapters };
}

function isCachedChoice(v: unknown): v is CachedChoice {
  const e = v as Partial<CachedChoice> | null;
  if (!e || typeof e !== 'object' || typeof e.best !== 'string' || !e.ms || typeof e.ms !== 'object' || Array.isArray(e.ms)) return false;
  // The best must have run here (a file edited by hand, or from elsewhere, may say otherwise).
  return Object.values(e.ms).every((ms) => ms === null || (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0)) && typeof e.ms[e.best] === 'number';
}

/** What the timer is asked to time: one variant of one shape class. */
export interface Trial {
  op: 'matmul' | 'rows';
  /** The shape class: a matmulShapeClass key, or e.g. 'layernorm 1024x256'. */
  key: string;
  /** A MatmulKernel, or 'rowPerThread' / 'workgroupPerRow'. */
  variant: string;
  /** The fastest time of this class's variants so far (ms): a variant clearly slower needs no repeats. */
  bestMs?: number;
}

/** Times `run` (which records one variant's launches and awaits rt.sync()); returns ms. */
export type Timer = (trial: Trial, run: () => Promise<void>) => Promise<number>;

export interface TuneKernelsOptions {
  /** false: time nothing, keep the defaults. Default: on, unless the environment has WGPRUNE_TUNE=off. */
  tune?: boolean;
  /** Where choices are read and kept (default: memory, shared by this process or page; null: none). */
  cache?: TuningCache | null;
  /** Injected timing (tests); default: a warm-up, then the median of `repeats` timed runs. */
  timer?: Timer;
  /**
   * Timed runs per variant after the warm-up (default 3), cut to 1 when the first took over
   * `slowMs` (default 100) or over twice the class's fastest so far.
   */
  repeats?: number;
  slowMs?: number;
  /**
   * At most this many shape classes timed (default 16), and no variant begun past `budgetMs`
   * (default 10,000) after the start: a class past it keeps its default, or the fastest of
   * the variants timed, and is not cached (a later run times it).
   */
  maxClasses?: number;
  budgetMs?: number;
}

/** What tuneKernels decided, and how. */
export interface KernelTuning {
  /** tuned: something was timed now; cached: every choice came from the cache; off: defaults; fixed: nothing to choose (explicit tuning, or one variant per shape). */
  status: 'tuned' | 'cached' | 'off' | 'fixed';
  /** One line for a log, e.g. 'kernels tuned for this adapter in 2.1 s (cached: FILE)'. */
  line: string;
  /** Wall time of tuneKernels, ms. */
  ms: number;
  /** The cache's adapter key. */
  adapter: string;
  /** cache.where, or null without a cache. */
  cache: string | null;
  /** Per matmul shape class of the workload: the kernel it now runs. */
  matmul: Record<string, MatmulKernel>;
  rowPerThread: boolean;
  /** Per shape class: each variant's ms, measured now or read from the cache (failed: null). */
  timings: Record<string, Record<string, number | null>>;
}

function tuneFromEnv(): boolean {
  const env = typeof process !== 'undefined' ? process.env?.WGPRUNE_TUNE : undefined;
  return env?.trim().toLowerCase() !== 'off';
}

/** The cache's key of an adapter: what describeAdapter says, and this package's version. */
export function tuningAdapterKey(rt: Runtime): string {
  return `${describeAdapter(rt.adapter)}; wgprune ${wgpruneVersion}`;
}

const pow2 = (n: number) => { let m = 1; while (m < n) m *= 2; return m; };

/** A seeded fill in [-1, 1): timing does not depend on the values, only that they are finite. */
function randomValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b), mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function matmulShape(m: WorkloadMatmul): MatmulShape {
  return { M: m.M, K: m.K, N: m.N, transA: m.transA, transB: m.transB, halves: false, batched: m.batch > 1 };
}

function rowKey(r: WorkloadRows): string {
  switch (r.op) {
    case 'layernorm': return `layernorm ${pow2(r.rows)}x${r.cols}`;
    case 'softmax': return `softmax ${pow2(r.rows)}x${r.cols}`;
    case 'maskGradient': {
      const groups = r.shape[r.axis]!, size = r.shape.reduce((p, d) => p * d, 1);
      return `mask gradient ${pow2(size / groups)}x${groups}`;
    }
  }
}

/** A class to decide: its inputs are made when it is timed, and freed after. */
interface Job {
  op: 'matmul' | 'rows';
  key: string;
  variants: string[];
  count: number;
  /** Uploads the inputs; returns one run's launches (their outputs) and the inputs to free. */
  setup: (rt: Runtime) => { step: () => Tensor[]; inputs: Tensor[] };
}

function matmulJob(m: WorkloadMatmul, key: string, variants: MatmulKernel[]): Job {
  return {
    op: 'matmul', key, variants, count: 1,
    setup: (rt) => {
      const aShape = m.transA ? [m.K, m.M] : [m.M, m.K], bShape = m.transB ? [m.N, m.K] : [m.K, m.N];
      const batch = m.batch > 1 ? [m.batch] : [];
      const a = rt.tensor(randomValues(m.batch * m.M * m.K, 1), [...batch, ...aShape]);
      const b = rt.tensor(randomValues(m.batch * m.K * m.N, 2), [...batch, ...bShape]);
      const bias = m.bias ? rt.tensor(randomValues(m.N, 3), [m.N]) : undefined;
      return {
        inputs: [a, b, ...(bias ? [bias] : [])],
        step: () => [matmul(a, b, { transA: m.transA, transB: m.transB, ...(bias ? { bias } : {}), ...(m.gelu ? { gelu: true } : {}) })],
      };
    },
  };
}

function rowsJob(r: WorkloadRows, key: string, defaultRowPerThread: boolean): Job {
  return {
    op: 'rows', key, variants: defaultRowPerThread ? ['rowPerThread', 'workgroupPerRow'] : ['workgroupPerRow', 'rowPerThread'], count: r.count,
    setup: (rt) => {
      switch (r.op) {
        case 'layernorm': {
          const x = rt.tensor(randomValues(r.rows * r.cols, 4), [r.rows, r.cols]), dy = rt.tensor(randomValues(r.rows * r.cols, 5), [r.rows, r.cols]);
          const gamma = rt.tensor(randomValues(r.cols, 6), [r.cols]), beta = rt.tensor(randomValues(r.cols, 7), [r.cols]);
          return {
            inputs: [x, dy, gamma, beta],
            step: () => {
              const f = layernormForward(x, gamma, beta, 1e-12);
              return [f.y, f.mean, f.rstd, layernormBackward(x, gamma, f, dy).dx];
            },
          };
        }
        case 'softmax': {
          const x = rt.tensor(randomValues(r.rows * r.cols, 8), [r.rows, r.cols]), dy = rt.tensor(randomValues(r.rows * r.cols, 9), [r.rows, r.cols]);
          const bias = rt.tensor(new Float32Array(r.biasRows * r.cols), [r.biasRows, r.cols]);
          const scale = 1 / Math.sqrt(Math.max(1, r.cols));
          return {
            inputs: [x, dy, bias],
            step: () => {
              const y = softmaxForward(x, { scale, bias });
              return [y, softmaxBackward(y, dy, { scale })];
            },
          };
        }
        case 'maskGradient': {
          const size = r.shape.reduce((p, d) => p * d, 1), batch = r.shape[0]!, groups = r.shape[r.axis]!;
          const a = rt.tensor(randomValues(size, 10), r.shape), g = rt.tensor(randomValues(size, 11), r.shape);
          return {
            inputs: [a, g],
            step: () => {
              const out = rt.empty([batch, 1, groups]);
              maskGradient(a, g, r.axis, out, 0);
              return [out];
            },
          };
        }
      }
    },
  };
}

/**
 * Times the kernel variants that matter for `workload` on this runtime's adapter, keeps the
 * fastest in `rt.tuning` (what `RuntimeOptions.tuning` gave always wins) and in the cache,
 * and says what it did in one line. Classes the cache already holds for this adapter are
 * not timed again. Call it before the work it tunes, with nothing else running.
 */
export async function tuneKernels(rt: Runtime, workload: Workload, options: TuneKernelsOptions = {}): Promise<KernelTuning> {
  const t0 = performance.now();
  const adapter = tuningAdapterKey(rt);
  const cache = options.cache === undefined ? sharedMemoryCache : options.cache;
  const explicit = rt.explicitTuning;
  const byEnv = options.tune === undefined && !tuneFromEnv();
  const shapes = new Map<string, WorkloadMatmul>();
  for (const m of workload.matmuls) {
    const key = matmulShapeClass(matmulShape(m));
    if (!shapes.has(key)) shapes.set(key, m);
  }
  const current = () => Object.fromEntries([...shapes].map(([key, m]) => [key, chooseKernel(rt, matmulShape(m)).kind]));
  const result = (status: KernelTuning['status'], line: string, timings: KernelTuning['timings']): KernelTuning => ({
    status, line, ms: performance.now() - t0, adapter, cache: cache?.where ?? null, matmul: current(), rowPerThread: rt.tuning.rowPerThread, timings,
  });
  if (options.tune === false || byEnv) return result('off', `kernel tuning off (${byEnv ? 'WGPRUNE_TUNE=off' : 'tune: false'}): the default kernels`, {});

  // The classes to decide: the row-wise flag unless given (cheap, and it matters on every
  // adapter), then the matmuls with a choice the caller did not make. Each class's default
  // variant comes first: it runs anyway, so its compile is never wasted.
  const jobs: Job[] = [];
  const rowKeys = new Map<string, WorkloadRows>();
  if (explicit.rowPerThread === undefined) {
    for (const r of workload.rows) {
      const key = rowKey(r);
      if (!rowKeys.has(key)) { rowKeys.set(key, r); jobs.push(rowsJob(r, key, rt.tuning.rowPerThread)); }
    }
  }
  if (explicit.matmulKernel === undefined) {
    for (const [key, m] of shapes) {
      if (explicit.matmulChoices?.[key] !== undefined) continue;
      // Where the texture kernel can run, the subgroup kernel reading storage is not timed:
      // both need the same CPU-like subgroups, the texture one ran 2.6-3x faster at every
      // shape measured (lavapipe, SwiftShader), and compiling the storage one cold took
      // 40-80 s on lavapipe, which a first prune on a fresh machine would pay.
      const kinds = [...new Set([chooseKernel(rt, matmulShape(m)).kind, ...(['texture', 'subgroup', 'general'] as const).map((w) => chooseKernel(rt, matmulShape(m), w).kind)])];
      const variants = kinds.includes('texture') ? kinds.filter((k) => k !== 'subgroup') : kinds;
      if (variants.length > 1) jobs.push(matmulJob(m, key, variants));
    }
  }
  if (jobs.length === 0) return result('fixed', 'kernel choices fixed: given by RuntimeOptions.tuning, or one variant per shape on this adapter', {});

  let cached: Record<string, CachedChoice> = {};
  if (cache) {
    try { cached = await cache.load(adapter); } catch { cached = {}; }
  }
  const timings: KernelTuning['timings'] = {};
  const measured: Record<string, CachedChoice> = {};
  const timer = options.timer ?? defaultTimer(options.repeats ?? 3, options.slowMs ?? 100);
  const maxClasses = options.maxClasses ?? 16, budgetMs = options.budgetMs ?? 10_000;
  const overBudget = () => performance.now() - t0 > budgetMs;
  const base = { ...rt.tuning.matmulChoices };
  const baseRowPerThread = rt.tuning.rowPerThread;
  const matmulBest: Record<string, MatmulKernel> = {};
  let fromCache = 0, timed = 0, partly = 0, skipped = 0;
  await rt.sync();
  try {
    for (const job of jobs) {
      const hit = cached[job.key];
      if (hit && job.variants.every((v) => v in hit.ms) && job.variants.includes(hit.best)) {
        timings[job.key] = hit.ms;
        if (job.op === 'matmul') matmulBest[job.key] = hit.best as MatmulKernel;
        fromCache++;
        continue;
      }
      if (timed + partly >= maxClasses || overBudget()) { skipped++; continue; }
      const { step, inputs } = job.setup(rt);
      const ms: Record<string, number | null> = {};
      let lastError: unknown;
      try {
        await rt.sync();
        for (const variant of job.variants) {
          // Past the budget, the class is decided from the variants timed so far, and not cached.
          if (variant !== job.variants[0] && overBudget()) break;
          if (job.op === 'matmul') rt.tuning.matmulChoices = { ...base, [job.key]: variant as MatmulKernel };
          else rt.tuning.rowPerThread = variant === 'rowPerThread';
          const run = async () => {
            const outs = step();
            try { await rt.sync(); } finally { for (const t of outs) t.dispose(); }
          };
          try {
            const times = Object.values(ms).filter((v): v is number => v !== null);
            const trial: Trial = { op: job.op, key: job.key, variant, ...(times.length ? { bestMs: Math.min(...times) } : {}) };
            ms[variant] = Number((await timer(trial, run)).toPrecision(4));
          } catch (e) {
            // A variant that fails here (a driver that cannot compile it) is never chosen; a lost device ends tuning.
            if (e instanceof DeviceLostError || e instanceof DisposedError) throw e;
            lastError = e;
            ms[variant] = null;
          }
        }
      } finally {
        for (const t of inputs) t.dispose();
        rt.tuning.matmulChoices = base;
        rt.tuning.rowPerThread = baseRowPerThread;
      }
      const ok = job.variants.filter((v) => typeof ms[v] === 'number');
      if (ok.length === 0 && Object.keys(ms).length === job.variants.length) throw lastError;
      timings[job.key] = ms;
      if (ok.length === 0) { partly++; continue; }
      const best = ok.reduce((a, b) => (ms[b]! < ms[a]! ? b : a));
      if (job.op === 'matmul') matmulBest[job.key] = best as MatmulKernel;
      if (Object.keys(ms).length < job.variants.length) { partly++; continue; }
      measured[job.key] = { best, ms };
      timed++;
    }
  } finally {
    rt.tuning.matmulChoices = { ...base, ...matmulBest, ...explicit.matmulChoices };
  }
  // One flag for every row-wise kernel: the variant with the least time over the workload's row shapes.
  if (explicit.rowPerThread === undefined) {
    const total = { rowPerThread: 0, workgroupPerRow: 0 };
    let known = 0;
    for (const [key, r] of rowKeys) {
      const t = timings[key];
      if (!t || !('rowPerThread' in t && 'workgroupPerRow' in t)) continue;
      known++;
      for (const v of ['rowPerThread', 'workgroupPerRow'] as const) total[v] += r.count * (t[v] ?? Infinity);
    }
    if (known > 0 && Number.isFinite(Math.min(total.rowPerThread, total.workgroupPerRow))) rt.tuning.rowPerThread = total.rowPerThread <= total.workgroupPerRow;
  }
  let saved = '';
  if (cache && timed > 0) {
    let kept = false;
    try { kept = await cache.save(adapter, measured); } catch { kept = false; }
    saved = kept ? `cached: ${cache.where === 'memory' ? 'in memory' : cache.where}` : `not cached: ${cache.where} could not be written`;
  }
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  const bound = partly || skipped ? [`${partly ? `${partly} timed in part, ` : ''}${skipped} left at their defaults: past the ${budgetMs / 1000} s or ${maxClasses}-class bound, timed on a later run`] : [];
  if (timed + partly + skipped === 0) return result('cached', `kernel choices from the cache (${[cache?.where ?? 'no cache', ...bound].join('; ')})`, timings);
  const notes = [...(fromCache ? [`${fromCache} of ${jobs.length} shape classes from the cache`] : []), ...bound, ...(timed ? [saved || 'not cached'] : [])];
  return result('tuned', `kernels tuned for this adapter in ${seconds} s (${notes.join('; ')})`, timings);
}

/**
 * A warm-up run (pipelines compile there), then the median of `repeats` timed runs, or just
 * the first when it took over `slowMs` (noise is small against it) or over twice the class's
 * fastest so far (it cannot win).
 */
function defaultTimer(repeats: number, slowMs: number): Timer {
  return async (trial, run) => {
    const once = async () => { const t = performance.now(); await run(); return performance.now() - t; };
    await once();
    const times = [await once()];
    if (times[0]! > slowMs || (trial.bestMs !== undefined && times[0]! > 2 * trial.bestMs)) return times[0]!;
    while (times.length < repeats) times.push(await once());
    return median(times);
  };
}

/** report.json's record of kernel tuning: what was decided and how, without the timings. */
export function kernelTuningReport(k: KernelTuning): { status: KernelTuning['status']; seconds: number; cache: string | null; rowPerThread: boolean; matmul: Record<string, MatmulKernel> } {
  return { status: k.status, seconds: Number((k.ms / 1000).toFixed(3)), cache: k.cache, rowPerThread: k.rowPerThread, matmul: k.matmul };
}
