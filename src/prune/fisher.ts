import type { EncoderModel, TokenBatch } from '../models/model.js';
import { fisherAccumulate } from '../ops/mask.js';
import { WgpruneError } from '../runtime/errors.js';

/** One batch of the sample set: its tokens and what its loss compares the output with. */
export interface SampleBatch {
  tokens: TokenBatch;
  target: { labels: Int32Array } | { targets: Float32Array };
}

export interface FisherInformation {
  /** Σ of squared gradients per head, [layers · heads] layer-major; and per neuron, [layers · intermediate]. */
  head: Float64Array;
  neuron: Float64Array;
  /** Examples seen, and whether each batch's summed gradient (the reference code's way) or each example's was squared. */
  examples: number;
  perBatch: boolean;
}

/**
 * The diagonal of the empirical Fisher information of the masks (METHOD.md step 1): for each
 * head and neuron, Σ_i g_i² over the sample set, with g_i the gradient of example i's loss
 * (`perBatch`: of the batch's summed loss, one g per batch, as the reference code does).
 * Gradients come from `model.maskGradients` and are squared and summed on the device; only
 * the result is read back.
 */
export async function fisherInformation(model: EncoderModel, batches: Iterable<SampleBatch>, { perBatch = false } = {}): Promise<FisherInformation> {
  const rt = model.rt, c = model.config, L = model.weights.layers.length;
  const head = rt.tensor(new Float32Array(L * c.heads), [L, c.heads]);
  const neuron = rt.tensor(new Float32Array(L * c.intermediate), [L, c.intermediate]);
  try {
    let examples = 0;
    for (const b of batches) {
      const g = model.maskGradients(b.tokens, b.target);
      fisherAccumulate(head, g.head, { perBatch });
      fisherAccumulate(neuron, g.neuron, { perBatch });
      for (const t of [g.head, g.neuron, g.losses]) t.dispose();
      examples += b.tokens.batch;
    }
    if (examples === 0) throw new WgpruneError('fisherInformation: the sample set is empty');
    const [h, n] = await Promise.all([head.read(), neuron.read()]);
    return { head: Float64Array.from(h), neuron: Float64Array.from(n), examples, perBatch };
  } finally {
    head.dispose();
    neuron.dispose();
  }
}
