// The CPU's native sgemm, for the ratio: ONNX Runtime's CPU provider (MLAS) through
// onnxruntime-node, whose npm package ships the Linux x64 binary (its install script only
// fetches CUDA providers; .npmrc skips it).
import { availableParallelism, cpus } from 'node:os';
import { checkProduct, type MatmulCase } from '../matmul.js';
import type { Job } from '../measure.js';
import { matmulModel } from '../onnx.js';
import type { PeerSetup } from './types.js';

export async function ortNodeJobs(cases: MatmulCase[]): Promise<PeerSetup> {
  const ort = await import('onnxruntime-node');
  const threads = availableParallelism();
  const adapter = `CPU: ${cpus()[0]?.model.trim() ?? 'unknown'}, ${threads} threads (ONNX Runtime ${ort.env.versions.node ?? ''} CPU provider)`;
  const sessions: { release(): Promise<void> }[] = [];
  const jobs: Job[] = [];
  for (const mc of cases) {
    const onnx = matmulModel(mc.batch, mc.M, mc.K, mc.N, mc.transA, mc.transB);
    // ORT fuses Transpose + MatMul into one FusedMatMul on the CPU (graph optimisation 'all').
    const session = await ort.InferenceSession.create(onnx.model, {
      executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1,
    });
    sessions.push(session);
    const feeds = { A: new ort.Tensor('float32', mc.a, onnx.aDims), B: new ort.Tensor('float32', mc.b, onnx.bDims) };
    const out = new ort.Tensor('float32', new Float32Array(mc.batch * mc.M * mc.N), onnx.cDims);
    jobs.push({
      benchmark: mc.benchmark, shape: mc.shape, implementation: 'ort-node-cpu', adapter, host: 'node', unit: 'GFLOP/s', work: mc.work,
      verify: async () => {
        (out.data as Float32Array).fill(0);
        const { C } = await session.run(feeds, { C: out });
        checkProduct(mc, C!.data as Float32Array, 'ort-node-cpu');
      },
      // One sample: session.run into a preallocated output; the product runs on ORT's
      // intra-op thread pool and is complete when the promise resolves.
      run: async () => {
        await session.run(feeds, { C: out });
      },
    });
  }
  return {
    implementation: 'ort-node-cpu', adapter, jobs,
    dispose: async () => { for (const s of sessions) await s.release(); },
  };
}
