import type { Linear, Norm } from '../models/encoder.js';
import type { ModelWeights, LayerWeights } from '../models/weights.js';
import { ShapeError } from '../runtime/errors.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Tensor } from '../runtime/tensor.js';

/** An nn.Linear on the CPU: weight [out, in] row-major (Hugging Face's layout), bias [out]. */
export interface LinearArrays {
  weight: Float32Array;
  bias: Float32Array;
  out: number;
  in: number;
}

export interface NormArrays {
  gamma: Float32Array;
  beta: Float32Array;
}

/** One encoder layer's weights on the CPU, with the heads and neurons it has. */
export interface LayerArrays {
  heads: number;
  neurons: number;
  query: LinearArrays;
  key: LinearArrays;
  value: LinearArrays;
  attentionOutput: LinearArrays;
  attentionNorm: NormArrays;
  intermediate: LinearArrays;
  output: LinearArrays;
  outputNorm: NormArrays;
}

async function linearArrays(l: Linear): Promise<LinearArrays> {
  const [weight, bias] = await Promise.all([l.weight.read(), l.bias.read()]);
  return { weight: weight as Float32Array, bias: bias as Float32Array, out: l.weight.shape[0]!, in: l.weight.shape[1]! };
}

async function normArrays(n: Norm): Promise<NormArrays> {
  const [gamma, beta] = await Promise.all([n.gamma.read(), n.beta.read()]);
  return { gamma: gamma as Float32Array, beta: beta as Float32Array };
}

/** Reads one layer's weights back from the device. */
export async function readLayer(w: LayerWeights): Promise<LayerArrays> {
  return {
    heads: w.keptHeads, neurons: w.keptNeurons,
    query: await linearArrays(w.query), key: await linearArrays(w.key), value: await linearArrays(w.value),
    attentionOutput: await linearArrays(w.attentionOutput), attentionNorm: await normArrays(w.attentionNorm),
    intermediate: await linearArrays(w.intermediate), output: await linearArrays(w.output), outputNorm: await normArrays(w.outputNorm),
  };
}

/** Every tensor of a model's weights on the CPU, in the order `ModelWeights` holds them. */
export async function readWeights(w: ModelWeights): Promise<{ layers: LayerArrays[] }> {
  const layers: LayerArrays[] = [];
  for (const l of w.layers) layers.push(await readLayer(l));
  return { layers };
}

/** Indices of the non-zero values. */
export function keptIndices(values: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) out.push(i);
  return out;
}

/** Rows `groups` (each `size` rows long) of a Linear: its outputs. */
function keepRows(l: LinearArrays, groups: readonly number[], size: number): LinearArrays {
  const weight = new Float32Array(groups.length * size * l.in), bias = new Float32Array(groups.length * size);
  groups.forEach((g, i) => {
    weight.set(l.weight.subarray(g * size * l.in, (g + 1) * size * l.in), i * size * l.in);
    bias.set(l.bias.subarray(g * size, (g + 1) * size), i * size);
  });
  return { weight, bias, out: groups.length * size, in: l.in };
}

/** Columns `groups` (each `size` columns wide) of a Linear, group i scaled by scales[i]: its inputs. */
function keepColumns(l: LinearArrays, groups: readonly number[], size: number, scales: readonly number[]): LinearArrays {
  const cols = groups.length * size, weight = new Float32Array(l.out * cols);
  for (let r = 0; r < l.out; r++) {
    const src = r * l.in, dst = r * cols;
    groups.forEach((g, i) => {
      const s = scales[i]!;
      for (let j = 0; j < size; j++) weight[dst + i * size + j] = l.weight[src + g * size + j]! * s;
    });
  }
  return { weight, bias: l.bias.slice(), out: l.out, in: cols };
}

/**
 * The physically pruned layer (docs/method.md, step 5): the heads whose mask value is 0 lose
 * their Q, K and V rows and their output-projection columns, the neurons whose value is 0
 * their W1 rows and W2 columns; the remaining mask values are folded into the kept
 * output-projection and W2 columns (biases untouched), so that the result computes what the
 * masked layer computes. `head` and `neuron` are the layer's mask values (one per head and
 * neuron of `layer`).
 */
export function pruneLayer(layer: LayerArrays, head: ArrayLike<number>, neuron: ArrayLike<number>): LayerArrays {
  if (head.length !== layer.heads || neuron.length !== layer.neurons) {
    throw new ShapeError(`pruneLayer: ${head.length} head and ${neuron.length} neuron mask values for a layer of ${layer.heads} heads and ${layer.neurons} neurons`);
  }
  const headDim = layer.heads ? layer.query.out / layer.heads : 0;
  const heads = keptIndices(head), neurons = keptIndices(neuron);
  return {
    heads: heads.length, neurons: neurons.length,
    query: keepRows(layer.query, heads, headDim), key: keepRows(layer.key, heads, headDim), value: keepRows(layer.value, heads, headDim),
    attentionOutput: keepColumns(layer.attentionOutput, heads, headDim, heads.map((h) => head[h]!)),
    attentionNorm: { gamma: layer.attentionNorm.gamma.slice(), beta: layer.attentionNorm.beta.slice() },
    intermediate: keepRows(layer.intermediate, neurons, 1),
    output: keepColumns(layer.output, neurons, 1, neurons.map((n) => neuron[n]!)),
    outputNorm: { gamma: layer.outputNorm.gamma.slice(), beta: layer.outputNorm.beta.slice() },
  };
}

/** Uploads a layer; its tensors survive enclosing `tidy` scopes until `disposeLayer`. */
export function uploadLayer(rt: Runtime, l: LayerArrays): LayerWeights {
  const T = (data: Float32Array, shape: number[]) => rt.keep(rt.tensor(data, shape));
  const lin = (x: LinearArrays): Linear => ({ weight: T(x.weight, [x.out, x.in]), bias: T(x.bias, [x.out]) });
  const norm = (x: NormArrays): Norm => ({ gamma: T(x.gamma, [x.gamma.length]), beta: T(x.beta, [x.beta.length]) });
  return {
    keptHeads: l.heads, keptNeurons: l.neurons,
    query: lin(l.query), key: lin(l.key), value: lin(l.value), attentionOutput: lin(l.attentionOutput), attentionNorm: norm(l.attentionNorm),
    intermediate: lin(l.intermediate), output: lin(l.output), outputNorm: norm(l.outputNorm),
  };
}

export function disposeLayer(w: LayerWeights): void {
  const all: Tensor[] = [];
  for (const x of [w.query, w.key, w.value, w.attentionOutput, w.intermediate, w.output]) all.push(x.weight, x.bias);
  all.push(w.attentionNorm.gamma, w.attentionNorm.beta, w.outputNorm.gamma, w.outputNorm.beta);
  for (const t of all) t.dispose();
}
