// ONNX Runtime Web's WebGPU execution provider, on a MatMul-only model built in code
// (bench/onnx.ts). In Node it runs on Dawn through navigator.gpu (set by bench/run.ts).
import { installPatientPolling, patientWait } from '../../src/runtime/poll.js';
import { describeDevice, webgpuHost } from '../adapter.js';
import { checkProduct, type MatmulCase } from '../matmul.js';
import type { Job } from '../measure.js';
import { matmulModel } from '../onnx.js';
import type { PeerSetup } from './types.js';

export interface OrtWebOptions {
  /** Where the page finds ORT's .wasm files (browser only; Node reads them beside the module). */
  wasmPaths?: string;
  /** Said of every record (e.g. how V8 compiled ORT's WebAssembly). */
  note?: string;
}

/**
 * ORT's threaded WebAssembly build keeps its heap in shared memory and passes views of it
 * to GPUQueue.writeBuffer; Dawn's Node binding rejects views of a SharedArrayBuffer
 * ("Invalid argument"), where browsers accept them. Copies such views into an unshared
 * buffer for the call; other calls (ours, tfjs's) go through untouched. Returns the undo.
 */
function shimSharedWriteBuffer(): () => void {
  const proto = GPUQueue.prototype;
  const original = proto.writeBuffer;
  type WriteBuffer = (buffer: GPUBuffer, offset: number, data: BufferSource | SharedArrayBuffer, dataOffset?: number, size?: number) => undefined;
  const shim: WriteBuffer = function (this: GPUQueue, buffer, offset, data, dataOffset, size) {
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      const bpe = (data as Partial<Uint8Array>).BYTES_PER_ELEMENT ?? 1;
      const count = size ?? data.byteLength / bpe - (dataOffset ?? 0);
      const copy = new Uint8Array(data.buffer, data.byteOffset + (dataOffset ?? 0) * bpe, count * bpe).slice();
      return original.call(this, buffer, offset, copy, 0, copy.byteLength);
    }
    return (original as WriteBuffer).call(this, buffer, offset, data, dataOffset, size);
  };
  proto.writeBuffer = shim as typeof original;
  return () => { proto.writeBuffer = original; };
}

const notes = (...parts: (string | undefined)[]) => {
  const note = parts.filter(Boolean).join('; ');
  return note ? { note } : {};
};

export async function ortWebJobs(cases: MatmulCase[], options: OrtWebOptions = {}): Promise<PeerSetup> {
  // The peers' waits poll Dawn as ours do (src/runtime/poll.ts), so that kernels are compared, not polling.
  installPatientPolling();
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (!nav?.gpu) throw new Error('navigator.gpu is missing');
  const host = webgpuHost();
  const undo = host === 'dawn' ? shimSharedWriteBuffer() : () => {};
  try {
    const ort = await import('onnxruntime-web/webgpu');
    ort.env.wasm.numThreads = 1; // the work is on the GPU; no worker threads
    if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
    ort.env.logLevel = 'error';
    const sessions: { release(): Promise<void> }[] = [];
    const buffers: GPUBuffer[] = [];
    const jobs: Job[] = [];
    let device: GPUDevice | undefined;
    for (const mc of cases) {
      const onnx = matmulModel(mc.batch, mc.M, mc.K, mc.N, mc.transA, mc.transB);
      const session = await ort.InferenceSession.create(onnx.model, {
        executionProviders: ['webgpu'], graphOptimizationLevel: 'all', preferredOutputLocation: 'gpu-buffer',
        // Fail rather than quietly run a node on the CPU.
        extra: { session: { disable_cpu_ep_fallback: '1' } },
      });
      sessions.push(session);
      device ??= await ort.env.webgpu.device; // ORT's own device, on navigator.gpu's default adapter
      const dev = device;
      const upload = (data: Float32Array<ArrayBuffer>, dims: number[]) => {
        const buffer = dev.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
        dev.queue.writeBuffer(buffer, 0, data);
        buffers.push(buffer);
        return ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims });
      };
      const feeds = { A: upload(mc.a, onnx.aDims), B: upload(mc.b, onnx.bDims) };
      jobs.push({
        benchmark: mc.benchmark, shape: mc.shape, implementation: 'ort-web-webgpu', adapter: describeDevice(dev, host),
        host: host === 'dawn' ? 'node' : 'browser', unit: 'GFLOP/s', work: mc.work,
        ...notes(mc.transA || mc.transB ? 'Transpose kernel + MatMul (ONNX MatMul has no transpose flags; ORT WebGPU does not fuse them)' : undefined, options.note),
        verify: async () => {
          const { C } = await session.run(feeds);
          try {
            checkProduct(mc, (await C!.getData()) as Float32Array, 'ort-web-webgpu');
          } finally {
            C!.dispose();
          }
        },
        // One sample: session.run with the inputs already in GPU buffers and the output left
        // in one (ORT records and submits its kernels), a wait for ORT's device queue to
        // drain, and the output's release. No upload, no readback.
        run: async () => {
          const { C } = await session.run(feeds);
          await patientWait(dev.queue.onSubmittedWorkDone());
          C!.dispose();
        },
      });
    }
    return {
      implementation: 'ort-web-webgpu', adapter: jobs[0]?.adapter ?? 'n/a', jobs,
      dispose: async () => {
        for (const s of sessions) await s.release();
        for (const b of buffers) b.destroy();
        undo();
      },
    };
  } catch (err) {
    undo();
    throw err;
  }
}
