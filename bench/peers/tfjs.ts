// TensorFlow.js's WebGPU backend (tfjs-core + tfjs-backend-webgpu), in Node through Dawn
// (navigator.gpu must be set before this module is loaded: see bench/run.ts) and in the
// browser through Chromium's navigator.gpu.
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { installPatientPolling, patientWait } from '../../src/runtime/poll.js';
import { describeDevice, webgpuHost } from '../adapter.js';
import { checkProduct, type MatmulCase } from '../matmul.js';
import type { Job } from '../measure.js';
import type { PeerSetup } from './types.js';

/** Whether tfjs holds recorded work not yet submitted (`commandEncoder` is private in its typings). */
const hasPendingWork = (backend: WebGPUBackend) => (backend as unknown as { commandEncoder: GPUCommandEncoder | null }).commandEncoder !== null;

export async function tfjsJobs(cases: MatmulCase[]): Promise<PeerSetup> {
  // The peers' waits poll Dawn as ours do (src/runtime/poll.ts), so that kernels are compared, not polling.
  installPatientPolling();
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw new Error('navigator.gpu is missing');
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu'); // registers 'webgpu' when navigator.gpu exists
  tf.enableProdMode();
  if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') failed");
  await tf.ready();
  const backend = tf.backend() as WebGPUBackend;
  const host = webgpuHost();
  const adapter = describeDevice(backend.device, host);
  const tensors = cases.map((mc) => [tf.tensor(mc.a, mc.aDims, 'float32'), tf.tensor(mc.b, mc.bDims, 'float32')] as const);

  const jobs = cases.map((mc, i): Job => {
    const [a, b] = tensors[i]!;
    const product = () => tf.matMul(a, b, mc.transA, mc.transB);
    return {
      benchmark: mc.benchmark, shape: mc.shape, implementation: 'tfjs-webgpu', adapter, host: host === 'dawn' ? 'node' : 'browser',
      unit: 'GFLOP/s', work: mc.work,
      verify: async () => {
        const c = product();
        try {
          checkProduct(mc, await c.data<'float32'>(), 'tfjs-webgpu');
        } finally {
          c.dispose();
        }
      },
      // One sample: tf.matMul records its kernel(s) (and writes their uniforms) into tfjs's
      // command encoder; we end the pass and submit it as tfjs does before a readback, then
      // wait for the queue to drain, and dispose of the output. No readback; inputs stay on
      // the device after verify().
      run: async () => {
        const c = product();
        backend.endComputePassEncoder();
        if (hasPendingWork(backend)) backend.submitQueue(); // tfjs may have submitted already (every 15 launches)
        await patientWait(backend.device.queue.onSubmittedWorkDone());
        c.dispose();
      },
    };
  });
  return {
    implementation: 'tfjs-webgpu', adapter, jobs,
    dispose: () => {
      for (const [a, b] of tensors) tf.dispose([a, b]);
      tf.removeBackend('webgpu');
    },
  };
}
