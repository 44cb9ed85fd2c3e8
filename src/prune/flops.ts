import { WgpruneError } from '../runtime/errors.js';

/** The shape the cost model needs (docs/method.md step 2). */
export interface CostShape {
  layers: number;
  heads: number;
  hidden: number;
  intermediate: number;
  /** Average sequence length of the task's inputs. */
  seqLen: number;
}

/**
 * Average sequence lengths the reference code uses for its FLOPs budgets (dev sets, BERT's
 * tokenizer): a constraint of 0.6 means 60% of the MACs at these lengths.
 */
export const averageSequenceLength: Readonly<Record<string, number>> = {
  'SST-2': 25.16, MRPC: 53.24, 'STS-B': 31.47, QNLI: 50.97, QQP: 30.55, MNLI: 39.05, SQuAD: 170,
};

/** Multiply-accumulates of one head: Q, K, V and output projections, and the two attention products. */
export function headMacs(s: CostShape): number {
  const dh = s.hidden / s.heads;
  return 4 * s.seqLen * s.hidden * dh + 2 * s.seqLen * s.seqLen * dh;
}

/** Multiply-accumulates of one FFN neuron: its column of W1 and its row of W2. */
export function neuronMacs(s: CostShape): number {
  return 2 * s.seqLen * s.hidden;
}

/** MACs of the encoder with `heads` heads and `neurons` neurons kept in all (embeddings, LayerNorm and the classifier not counted). */
export function encoderMacs(s: CostShape, heads = s.layers * s.heads, neurons = s.layers * s.intermediate): number {
  return heads * headMacs(s) + neurons * neuronMacs(s);
}

export function checkCostShape(s: CostShape): void {
  for (const k of ['layers', 'heads', 'hidden', 'intermediate'] as const) {
    if (!(Number.isInteger(s[k]) && s[k] > 0)) throw new WgpruneError(`cost model: ${k} must be a positive integer, got ${s[k]}`);
  }
  if (s.hidden % s.heads !== 0) throw new WgpruneError(`cost model: hidden size ${s.hidden} is not a multiple of ${s.heads} heads`);
  if (!(s.seqLen > 0 && Number.isFinite(s.seqLen))) throw new WgpruneError(`cost model: the sequence length must be positive, got ${s.seqLen}`);
}
