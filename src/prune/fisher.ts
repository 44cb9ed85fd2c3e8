import type { EncoderModel, MaskGradientTarget, TokenBatch } from '../models/model.js';
import { fisherAccumulate } from '../ops/mask.js';
import { matmul } from '../ops/matmul.js';
import { sum } from '../ops/reduce.js';
import { permute } from '../ops/transpose.js';
import type { Tensor } from '../runtime/tensor.js';
import { WgpruneError } from '../runtime/errors.js';

/** One batch of the sample set: its tokens and what its loss compares the output with. */
export interface SampleBatch {
  tokens: TokenBatch;
  /** Class labels, regression targets, or (question answering) answer start and end tokens. */
  target: MaskGradientTarget;
}

export interface FisherInformation {
  /** Σ of squared gradients per head, [layers · heads] layer-major; and per neuron, [layers · intermediate]. */
  head: Float64Array;
  neuron: Float64Array;
  /** Examples seen, and whether each batch's summed gradient (the reference code's way) or each example's was squared. */
  examples: number;
  perBatch: boolean;
  /**
   * With `grams`: per layer, the Gram matrix of the gradient vectors over the samples,
   * G[i·k + j] = Σ_samples g_i g_j (k = heads, or intermediate), what the rearrangement of
   * step 3 needs; its diagonal is the Fisher above.
   */
  headGrams?: Float64Array[];
  neuronGrams?: Float64Array[];
}

/**
 * The diagonal of the empirical Fisher information of the masks (docs/method.md step 1): for each
 * head and neuron, Σ_i g_i² over the sample set, with g_i the gradient of example i's loss
 * (`perBatch`: of the batch's summed loss, one g per batch, as the reference code does).
 * Gradients come from `model.maskGradients` and are squared and summed on the device; only
 * the result is read back.
 */
export async function fisherInformation(
  model: EncoderModel, batches: Iterable<SampleBatch>,
  { perBatch = false, grams = false, onProgress }: { perBatch?: boolean; grams?: boolean; onProgress?: (done: number, total: number) => void } = {},
): Promise<FisherInformation> {
  const rt = model.rt, c = model.config, L = model.weights.layers.length;
  // With the Gram matrices, the Fisher diagonal is their diagonal: it is not summed twice.
  const head = grams ? null : rt.tensor(new Float32Array(L * c.heads), [L, c.heads]);
  const neuron = grams ? null : rt.tensor(new Float32Array(L * c.intermediate), [L, c.intermediate]);
  let headGram = grams ? rt.tensor(new Float32Array(L * c.heads * c.heads), [L, c.heads, c.heads]) : null;
  let neuronGram = grams ? rt.tensor(new Float32Array(L * c.intermediate * c.intermediate), [L, c.intermediate, c.intermediate]) : null;
  // G_l += g_lᵀ g_l for every layer at once: gradients [batch, L, k] as [L, batch, k] (or
  // their batch sum, [L, 1, k]), a batched matmul with A transposed that adds the sum so
  // far in its epilogue (no separate pass over the L·k² sums: 113 million for BERT-base).
  const accumulate = (gram: Tensor, grads: Tensor): Tensor => rt.tidy(() => {
    const [, layers, k] = grads.shape as [number, number, number];
    const g = perBatch ? sum(grads, 0).reshape([layers, 1, k]) : permute(grads, [1, 0, 2]);
    return matmul(g, g, { transA: true, addend: gram });
  });
  try {
    let examples = 0, done = 0;
    const total = Array.isArray(batches) ? batches.length : 0;
    for (const b of batches) {
      const g = model.maskGradients(b.tokens, b.target);
      if (head && neuron) {
        fisherAccumulate(head, g.head, { perBatch });
        fisherAccumulate(neuron, g.neuron, { perBatch });
      }
      if (headGram && neuronGram) {
        // One at a time: if the second throws, the first's sum is already held where the finally frees it.
        const h = accumulate(headGram, g.head);
        headGram.dispose();
        headGram = h;
        const n = accumulate(neuronGram, g.neuron);
        neuronGram.dispose();
        neuronGram = n;
      }
      for (const t of [g.head, g.neuron, g.losses]) t.dispose();
      examples += b.tokens.batch;
      // Reporting waits for the batch, so that progress is real (one small read a batch).
      if (onProgress) { await rt.sync(); onProgress(++done, Math.max(total, done)); }
    }
    if (examples === 0) throw new WgpruneError('fisherInformation: the sample set is empty');
    if (head && neuron) {
      const [h, n] = await Promise.all([head.read(), neuron.read()]);
      return { head: Float64Array.from(h), neuron: Float64Array.from(n), examples, perBatch };
    }
    const split = (data: Float32Array, k: number) => Array.from({ length: L }, (_, l) => Float64Array.from(data.subarray(l * k * k, (l + 1) * k * k)));
    const headGrams = split(await headGram!.read() as Float32Array, c.heads), neuronGrams = split(await neuronGram!.read() as Float32Array, c.intermediate);
    const diagonals = (gs: Float64Array[], k: number) => Float64Array.from({ length: L * k }, (_, i) => gs[Math.floor(i / k)]![(i % k) * (k + 1)]!);
    return { head: diagonals(headGrams, c.heads), neuron: diagonals(neuronGrams, c.intermediate), examples, perBatch, headGrams, neuronGrams };
  } finally {
    for (const t of [head, neuron, headGram, neuronGram]) t?.dispose();
  }
}
