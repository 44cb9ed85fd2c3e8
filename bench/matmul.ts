import { matmul } from '../src/ops/matmul.js';
import type { Runtime } from '../src/runtime/runtime.js';
import type { Tensor } from '../src/runtime/tensor.js';
import type { Job, Record } from './measure.js';

/** BERT-base's projections at 512 tokens, and one attention score product (12 heads, 128 tokens, 64 per head). */
const shapes = [
  { name: 'matmul', batch: 1, M: 512, K: 768, N: 768, transB: false },
  { name: 'matmul', batch: 1, M: 512, K: 768, N: 3072, transB: false },
  { name: 'matmul', batch: 1, M: 512, K: 3072, N: 768, transB: false },
  { name: 'matmul attention QKᵀ', batch: 12, M: 128, K: 64, N: 128, transB: true },
];

/** One shape with its inputs, shared by every implementation so that all do the same sums. */
export interface MatmulCase {
  benchmark: string;
  /** '512x768x768' (M x K x N), with the batch in front when there is one. */
  shape: string;
  batch: number;
  M: number;
  K: number;
  N: number;
  /** B is stored [batch,] N x K and used transposed (the attention scores' Kᵀ). */
  transB: boolean;
  /** Row-major [batch,] M x K. */
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

export function matmulCases(filter?: string): MatmulCase[] {
  return shapes.map((s, i) => {
    const lead = s.batch > 1 ? [s.batch] : [];
    return {
      benchmark: s.name, shape: `${s.batch > 1 ? `${s.batch}x` : ''}${s.M}x${s.K}x${s.N}`,
      batch: s.batch, M: s.M, K: s.K, N: s.N, transB: s.transB,
      a: fill(s.batch * s.M * s.K, 2 * i + 1), b: fill(s.batch * s.K * s.N, 2 * i + 2),
      aDims: [...lead, s.M, s.K], bDims: [...lead, ...(s.transB ? [s.N, s.K] : [s.K, s.N])],
      work: (2 * s.batch * s.M * s.N * s.K) / 1e9,
    };
  }).filter((c) => !filter || `${c.benchmark} ${c.shape}`.includes(filter));
}

/**
 * Throws unless `c` (row-major [batch,] M x N) matches a float64 product at 64 spread
 * entries, within 1e-4 of the sum of |a·b| terms (f32 rounding over K terms stays far below).
 */
export function checkProduct(mc: MatmulCase, c: ArrayLike<number>, who: string): void {
  const { batch, M, K, N, a, b, transB } = mc;
  if (c.length !== batch * M * N) throw new Error(`${who}: output has ${c.length} values, expected ${batch * M * N}`);
  const total = batch * M * N;
  for (let s = 0; s < 64; s++) {
    const idx = Math.floor(((s * 2654435761) % 2 ** 32) / 2 ** 32 * total);
    const bt = Math.floor(idx / (M * N)), i = Math.floor((idx % (M * N)) / N), j = idx % N;
    let sum = 0, mag = 0;
    for (let k = 0; k < K; k++) {
      const av = a[bt * M * K + i * K + k]!;
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
        const c = matmul(a, b, { transB: mc.transB });
        try {
          checkProduct(mc, await c.read(), 'wgprune');
        } finally {
          c.dispose();
        }
      },
      // One sample: record the launch(es), flush them as one submit, wait for the queue to
      // drain; the output comes from (and goes back to) the buffer pool. No readback.
      run: async () => {
        matmul(a, b, { transB: mc.transB }).dispose();
        await rt.sync();
      },
    };
  });
  return { jobs, inputs };
}
