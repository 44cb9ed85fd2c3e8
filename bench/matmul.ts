import { matmul } from '../src/ops/matmul.js';
import type { Runtime } from '../src/runtime/runtime.js';
import type { Tensor } from '../src/runtime/tensor.js';
import type { Job } from './measure.js';

/** BERT-base's projections at 512 tokens, and one attention score product (12 heads, 128 tokens, 64 per head). */
const shapes = [
  { name: 'matmul', batch: 1, M: 512, K: 768, N: 768, transB: false },
  { name: 'matmul', batch: 1, M: 512, K: 768, N: 3072, transB: false },
  { name: 'matmul', batch: 1, M: 512, K: 3072, N: 768, transB: false },
  { name: 'matmul attention QKᵀ', batch: 12, M: 128, K: 64, N: 128, transB: true },
];

export function matmulJobs(rt: Runtime): { jobs: Job[]; inputs: Tensor[] } {
  const inputs: Tensor[] = [];
  const jobs = shapes.map((s) => {
    const a = rt.tensor(new Float32Array(s.batch * s.M * s.K).map(() => Math.random() - 0.5), s.batch > 1 ? [s.batch, s.M, s.K] : [s.M, s.K]);
    const bDims = s.transB ? [s.N, s.K] : [s.K, s.N];
    const b = rt.tensor(new Float32Array(s.batch * s.K * s.N).map(() => Math.random() - 0.5), s.batch > 1 ? [s.batch, ...bDims] : bDims);
    inputs.push(a, b);
    const shape = `${s.batch > 1 ? `${s.batch}x` : ''}${s.M}x${s.K}x${s.N}`;
    return {
      benchmark: s.name, shape, unit: 'GFLOP/s' as const, work: (2 * s.batch * s.M * s.N * s.K) / 1e9,
      run: () => matmul(a, b, { transB: s.transB }).dispose(),
    };
  });
  return { jobs, inputs };
}
