// The Fisher pass as a TensorFlow.js user would write it: the same masked BERT in tfjs ops on
// its WebGPU backend, differentiated by tf.grads with respect to per-example masks of ones,
// [batch, layers, heads] multiplied into each head's context and [batch, layers, intermediate]
// into the FFN activation. With each example's loss summed (not averaged), one backward
// gives every example's own gradient; their squares are summed on the device as ours are.
// In Node it runs on Dawn through navigator.gpu (set by the caller to our runtime's instance).
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SampleBatch } from '../../src/prune/fisher.js';
import { installPatientPolling, patientWait } from '../../src/runtime/poll.js';
import { describeDevice } from '../adapter.js';
import type { PlainBert, PlainTensor } from './bert-weights.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type T = import('@tensorflow/tfjs-core').Tensor;

/** What one implementation's Fisher pass gave: the diagonal, and its times. */
export interface FisherRun {
  implementation: string;
  adapter: string;
  /** The timed pass over every batch, from the first launch to the diagonal read back. */
  seconds: number;
  /** The untimed first batch (pipelines compiled, buffers allocated). */
  warmupSeconds: number;
  head: Float64Array;
  neuron: Float64Array;
  note?: string;
}

/**
 * tfjs-core's Node entry (dist/tf-core.node.js) registers no gradients: tf.grads then fails
 * on the first op. The registrations ship only as ES modules with extension-less imports,
 * which Node cannot load, so they are bundled here with esbuild (a dev dependency, as tfjs
 * is) and imported once. tfjs keeps its engine and registries on the global object, so
 * this second copy registers into the same tfjs that the bench imported.
 */
async function registerGradients(tf: Tf): Promise<void> {
  if (tf.getGradient('Erf')) return;
  const { build } = await import('esbuild');
  const out = await build({
    stdin: { contents: "import '@tensorflow/tfjs-core/dist/register_all_gradients.js';", resolveDir: process.cwd() },
    bundle: true, write: false, platform: 'node', format: 'esm', logLevel: 'error',
  });
  const dir = mkdtempSync(join(tmpdir(), 'wgprune-tfjs-'));
  try {
    const file = join(dir, 'gradients.mjs');
    writeFileSync(file, out.outputFiles[0]!.contents);
    await import(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!tf.getGradient('Erf')) throw new Error("tfjs-core's gradients did not register");
}

/** Ends tfjs's pass, submits what it recorded, and waits for the queue with our polling (src/runtime/poll.ts). */
async function drain(backend: WebGPUBackend): Promise<void> {
  backend.endComputePassEncoder();
  if ((backend as unknown as { commandEncoder: GPUCommandEncoder | null }).commandEncoder !== null) backend.submitQueue();
  await patientWait(backend.device.queue.onSubmittedWorkDone());
}

export async function tfjsFisher(m: PlainBert, batches: readonly SampleBatch[], { onProgress }: { onProgress?: (done: number, total: number) => void } = {}): Promise<FisherRun> {
  installPatientPolling();
  if (!(globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu) throw new Error('navigator.gpu is missing');
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu'); // registers 'webgpu' when navigator.gpu exists
  await registerGradients(tf);
  tf.enableProdMode();
  if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') failed");
  await tf.ready();
  const backend = tf.backend() as WebGPUBackend;
  const adapter = describeDevice(backend.device, 'dawn');

  const up = (t: PlainTensor) => tf.tensor(t.data, t.shape, 'float32');
  const lin = (l: { weight: PlainTensor; bias: PlainTensor }) => ({ w: up(l.weight), b: up(l.bias) });
  const norm = (n: { gamma: PlainTensor; beta: PlainTensor }) => ({ g: up(n.gamma), b: up(n.beta) });
  const w = {
    word: up(m.word), position: up(m.position), tokenType: up(m.tokenType), embNorm: norm(m.embNorm),
    layers: m.encoder.map((l) => ({
      q: lin(l.query), k: lin(l.key), v: lin(l.value), o: lin(l.attentionOutput), n1: norm(l.attentionNorm),
      f1: lin(l.intermediate), f2: lin(l.output), n2: norm(l.outputNorm),
    })),
    pooler: lin(m.pooler), classifier: lin(m.classifier),
  };
  const { layers: L, hidden, heads, intermediate: I, eps } = m, d = hidden / heads;

  // x Wᵀ + b over [rows, in]: nn.Linear.
  const linear = (x: T, l: { w: T; b: T }) => tf.add(tf.matMul(x, l.w, false, true), l.b);
  const layerNorm = (x: T, n: { g: T; b: T }) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), n.g), n.b);
  };
  // [B·S, hidden] → [B, heads, S, d] and back.
  const split = (x: T, B: number, S: number) => tf.transpose(tf.reshape(x, [B, S, heads, d]), [0, 2, 1, 3]);
  const merge = (x: T, B: number, S: number) => tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B * S, hidden]);

  /** Each example's loss, summed: d(sum)/d(mask[b]) is example b's own gradient. */
  const loss = (b: SampleBatch, headMask: T, neuronMask: T): T => {
    const { batch: B, seq: S } = b.tokens;
    const ids = tf.tensor(b.tokens.inputIds, [B * S], 'int32');
    const types = tf.tensor(b.tokens.tokenTypeIds ?? new Int32Array(B * S), [B * S], 'int32');
    const positions = tf.tile(tf.range(0, S, 1, 'int32'), [B]);
    // 0 for tokens, float32's minimum for padding (as ours and Hugging Face's), [B, 1, 1, S].
    const keyBias = tf.tensor(Float32Array.from(b.tokens.attentionMask, (v) => (v ? 0 : -3.4028234663852886e38)), [B, 1, 1, S]);
    let x = layerNorm(tf.addN([tf.gather(w.word, ids), tf.gather(w.position, positions), tf.gather(w.tokenType, types)]), w.embNorm);
    const hm = tf.unstack(headMask, 1), nm = tf.unstack(neuronMask, 1); // L x [B, heads], L x [B, I]
    w.layers.forEach((l, i) => {
      const q = split(linear(x, l.q), B, S), k = split(linear(x, l.k), B, S), v = split(linear(x, l.v), B, S);
      const probs = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d)), keyBias));
      const context = tf.mul(tf.matMul(probs, v), tf.reshape(hm[i]!, [B, heads, 1, 1]));
      const h1 = layerNorm(tf.add(linear(merge(context, B, S), l.o), x), l.n1);
      const pre = linear(h1, l.f1);
      const gelu = tf.mul(tf.mul(pre, 0.5), tf.add(tf.erf(tf.mul(pre, Math.SQRT1_2)), 1)); // exact (erf) GELU, as BERT
      const masked = tf.reshape(tf.mul(tf.reshape(gelu, [B, S, I]), tf.reshape(nm[i]!, [B, 1, I])), [B * S, I]);
      x = layerNorm(tf.add(linear(masked, l.f2), h1), l.n2);
    });
    const first = tf.reshape(tf.slice(tf.reshape(x, [B, S, hidden]), [0, 0, 0], [B, 1, hidden]), [B, hidden]);
    const logits = linear(tf.tanh(linear(first, w.pooler)), w.classifier);
    const labels = tf.oneHot(tf.tensor(Array.from((b.target as { labels: Int32Array }).labels), [B], 'int32'), m.numLabels);
    return tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(logits))));
  };

  let head = tf.zeros([L, heads]), neuron = tf.zeros([L, I]);
  const step = (b: SampleBatch) => {
    const B = b.tokens.batch;
    const [h, n] = tf.tidy(() => {
      const grads = tf.grads((hmask: T, nmask: T) => loss(b, hmask, nmask));
      const [gh, gn] = grads([tf.ones([B, L, heads]), tf.ones([B, L, I])]) as [T, T];
      return [tf.add(head, tf.sum(tf.square(gh), 0)), tf.add(neuron, tf.sum(tf.square(gn), 0))];
    });
    head.dispose();
    neuron.dispose();
    [head, neuron] = [h, n];
  };
  try {
    let t0 = performance.now();
    step(batches[0]!);
    await drain(backend);
    const warmupSeconds = (performance.now() - t0) / 1000;
    head.dispose();
    neuron.dispose();
    [head, neuron] = [tf.zeros([L, heads]), tf.zeros([L, I])];
    t0 = performance.now();
    // One wait per batch, as ours with progress (fisherInformation's onProgress): the queue
    // never runs far ahead, and the waits poll as ours do.
    for (let i = 0; i < batches.length; i++) {
      step(batches[i]!);
      await drain(backend);
      onProgress?.(i + 1, batches.length);
    }
    const [h, n] = await Promise.all([head.data<'float32'>(), neuron.data<'float32'>()]);
    const seconds = (performance.now() - t0) / 1000;
    return {
      implementation: 'tfjs-webgpu', adapter, seconds, warmupSeconds, head: Float64Array.from(h), neuron: Float64Array.from(n),
      note: 'TensorFlow.js 4.22 WebGPU backend, tf.grads over per-example masks',
    };
  } finally {
    tf.dispose([head, neuron, w.word, w.position, w.tokenType, w.embNorm.g, w.embNorm.b, w.pooler.w, w.pooler.b, w.classifier.w, w.classifier.b]);
    for (const l of w.layers) for (const part of Object.values(l)) tf.dispose(Object.values(part) as T[]);
    // The backend stays: tf.removeBackend also forgets its factory, so a second model could
    // not set it up again.
  }
}
