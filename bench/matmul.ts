import { matmul } from '../src/ops/matmul.js';
import type { Runtime } from '../src/runtime/runtime.js';
import type { Tensor } from '../src/runtime/tensor.js';
import type { Job, Record } from './measure.js';

interface Shape {
  name: string;
  batch: number;
  M: number;
  K: number;
  N: number;
  transA?: boolean;
  transB?: boolean;
}

/** BERT-base's projections at 512 tokens, and one attention score product (12 heads, 128 tokens, 64 per head). */
const defaultShapes: Shape[] = [
  { name: 'matmul', batch: 1, M: 512, K: 768, N: 768 },
  { name: 'matmul', batch: 1, M: 512, K: 768, N: 3072 },
  { name: 'matmul', batch: 1, M: 512, K: 3072, N: 768 },
  { name: 'matmul attention QKᵀ', batch: 12, M: 128, K: 64, N: 128, transB: true },
];

/**
 * The products of the Fisher pass (maskGradients) on batches of 32 SST-2 sentences, whose
 * padded lengths run from 4 to about 60 tokens: M = 32 x seq rows for the linear layers
 * (32 for the classifier head's [CLS] rows, 4,096 for 32 x 128), hidden 768 and FFN 3,072
 * (BERT-base), 256 and 1,024 (sst2-mini), 64 per head; with the transposes that occur.
 * Forward x Wᵀ (nn.Linear, W stored [out, in]), backward dy W (input gradients only), and
 * attention per head, batched over 32 sequences x 12 heads: QKᵀ and dP = dC Vᵀ (B
 * transposed), PV and dQ = dS K (plain), dV = Pᵀ dC and dK = dSᵀ Q (A transposed).
 */
const fisherShapes: Shape[] = [
  { name: 'fisher x Wᵀ', batch: 1, M: 32, K: 768, N: 768, transB: true },
  { name: 'fisher x Wᵀ', batch: 1, M: 128, K: 768, N: 768, transB: true },
  { name: 'fisher x Wᵀ', batch: 1, M: 128, K: 768, N: 3072, transB: true },
  { name: 'fisher x Wᵀ', batch: 1, M: 128, K: 3072, N: 768, transB: true },
  { name: 'fisher x Wᵀ', batch: 1, M: 512, K: 768, N: 3072, transB: true },
  { name: 'fisher x Wᵀ', batch: 1, M: 2048, K: 768, N: 768, transB: true },
  { name: 'fisher x Wᵀ', batch: 1, M: 4096, K: 3072, N: 768, transB: true },
  { name: 'fisher x Wᵀ', batch: 1, M: 512, K: 256, N: 256, transB: true },
  { name: 'fisher x Wᵀ', batch: 1, M: 512, K: 256, N: 1024, transB: true },
  { name: 'fisher dy W', batch: 1, M: 128, K: 768, N: 768 },
  { name: 'fisher dy W', batch: 1, M: 128, K: 768, N: 3072 },
  { name: 'fisher dy W', batch: 1, M: 128, K: 3072, N: 768 },
  { name: 'fisher dy W', batch: 1, M: 2048, K: 3072, N: 768 },
  { name: 'fisher dy W', batch: 1, M: 512, K: 1024, N: 256 },
  { name: 'fisher attention QKᵀ', batch: 384, M: 16, K: 64, N: 16, transB: true },
  { name: 'fisher attention PV', batch: 384, M: 16, K: 16, N: 64 },
  { name: 'fisher attention Pᵀ dC', batch: 384, M: 16, K: 16, N: 64, transA: true },
  { name: 'fisher attention QKᵀ', batch: 384, M: 64, K: 64, N: 64, transB: true },
  { name: 'fisher attention PV', batch: 384, M: 64, K: 64, N: 64 },
  { name: 'fisher attention Pᵀ dC', batch: 384, M: 64, K: 64, N: 64, transA: true },
];

/** The shape sets of --shapes: `default` (BERT-base at 512 tokens) and `fisher`. */
export const shapeSets: { [name: string]: Shape[] } = { default: defaultShapes, fisher: fisherShapes };

/** One shape with its inputs, shared by every implementation so that all do the same sums. */
export interface MatmulCase {
  benchmark: string;
  /** '512x768x768' (M x K x N), with the batch in front when there is one. */
  shape: string;
  batch: number;
  M: number;
  K: number;
  N: number;
  /** A is stored [batch,] K x M and used transposed (attention's Pᵀ dC). */
  transA: boolean;
  /** B is stored [batch,] N x K and used transposed (the attention scores' Kᵀ, nn.Linear's Wᵀ). */
  transB: boolean;
  /** Row-major [batch,] M x K, or K x M when transA. */
  a: Float32Array<ArrayBuffer>;
  /** Row-major [batch,] K x N, or N x K when transB. */
  b: Float32Array<ArrayBuffer>;
  aDims: number[];
  bDims: number[];
  /** GFLOP per product: 2·batch·M·N·K. */
  work: number;
}

/** Deterministic inputs in [-0.5, 0.5) (a 32-bit LCG), the same in Node and the browser. */
function fill(n: number, seed: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** The cases of the named sets (default: `default`), filtered by 'name shape'. */
export function matmulCases(filter?: string, sets: readonly string[] = ['default']): MatmulCase[] {
  for (const set of sets) if (!shapeSets[set]) throw new Error(`unknown shape set '${set}' (${Object.keys(shapeSets).join(', ')})`);
  return sets.flatMap((set) => shapeSets[set]!).map((s, i) => {
    const lead = s.batch > 1 ? [s.batch] : [];
    const transA = s.transA ?? false, transB = s.transB ?? false;
    return {
      benchmark: s.name, shape: `${s.batch > 1 ? `${s.batch}x` : ''}${s.M}x${s.K}x${s.N}`,
      batch: s.batch, M: s.M, K: s.K, N: s.N, transA, transB,
      a: fill(s.batch * s.M * s.K, 2 * i + 1), b: fill(s.batch * s.K * s.N, 2 * i + 2),
      aDims: [...lead, ...(transA ? [s.K, s.M] : [s.M, s.K])], bDims: [...lead, ...(transB ? [s.N, s.K] : [s.K, s.N])],
      work: (2 * s.batch * s.M * s.N * s.K) / 1e9,
    };
  }).filter((c) => !filter || `${c.benchmark} ${c.shape}`.includes(filter));
}

/**
 * Throws unless `c` (row-major [batch,] M x N) matches a float64 product at 64 spread
 * entries, within 1e-4 of the sum of |a·b| terms (f32 rounding over K terms stays far below).
 */
export function checkProduct(mc: MatmulCase, c: ArrayLike<number>, who: string): void {
  const { batch, M, K, N, a, b, transA, transB } = mc;
  if (c.length !== batch * M * N) throw new Error(`${who}: output has ${c.length} values, expected ${batch * M * N}`);
  const total = batch * M * N;
  for (let s = 0; s < 64; s++) {
    const idx = Math.floor(((s * 2654435761) % 2 ** 32) / 2 ** 32 * total);
    const bt = Math.floor(idx / (M * N)), i = Math.floor((idx % (M * N)) / N), j = idx % N;
    let sum = 0, mag = 0;
    for (let k = 0; k < K; k++) {
      const av = transA ? a[bt * M * K + k * M + i]! : a[bt * M * K + i * K + k]!;
      const bv = transB ? b[bt * N * K + j * K + k]! : b[bt * K * N + k * N + j]!;
      sum += av * bv;
      mag += Math.abs(av * bv);
    }
    const got = c[idx]!;
    if (!(Math.abs(got - sum) <= 1e-4 * mag + 1e-6)) {
      throw new Error(`${who}: wrong result at [${bt}, ${i}, ${j}]: ${got}, expected ${sum.toPrecision(7)}`);
    }
  }
}

/** Our matmul at each case; the inputs are device tensors, uploaded once. */
export function matmulJobs(rt: Runtime, cases: MatmulCase[], adapter: string, host: Record['host']): { jobs: Job[]; inputs: Tensor[] } {
  const inputs: Tensor[] = [];
  const jobs = cases.map((mc): Job => {
    const a = rt.tensor(mc.a, mc.aDims);
    const b = rt.tensor(mc.b, mc.bDims);
    inputs.push(a, b);
    return {
      benchmark: mc.benchmark, shape: mc.shape, implementation: 'wgprune', adapter, host, unit: 'GFLOP/s', work: mc.work,
      verify: async () => {
        const c = matmul(a, b, { transA: mc.transA, transB: mc.transB });
        try {
          checkProduct(mc, await c.read(), 'wgprune');
        } finally {
          c.dispose();
        }
      },
      // One sample: record the launch(es), flush them as one submit, wait for the queue to
      // drain; the output comes from (and goes back to) the buffer pool. No readback.
      run: async () => {
        matmul(a, b, { transA: mc.transA, transB: mc.transB }).dispose();
        await rt.sync();
      },
    };
  });
  return { jobs, inputs };
}
