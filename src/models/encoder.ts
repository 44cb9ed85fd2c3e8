import { geluBackward, geluForward } from '../ops/activation.js';
import { attentionBackward, attentionForward, type AttentionSaved } from '../ops/attention.js';
import { add } from '../ops/elementwise.js';
import { addLayernormForward, layernormBackward, layernormForward, type LayernormSaved } from '../ops/layernorm.js';
import { applyMask, maskGradient } from '../ops/mask.js';
import { matmul } from '../ops/matmul.js';
import { ModelError } from '../runtime/errors.js';
import type { Tensor } from '../runtime/tensor.js';

/** nn.Linear: weight [out, in] (Hugging Face's layout), bias [out]. */
export interface Linear {
  weight: Tensor;
  bias: Tensor;
}

export interface Norm {
  gamma: Tensor;
  beta: Tensor;
}

/** One post-LayerNorm BERT layer. */
export interface EncoderLayer {
  query: Linear;
  key: Linear;
  value: Linear;
  attentionOutput: Linear;
  attentionNorm: Norm;
  intermediate: Linear;
  output: Linear;
  outputNorm: Norm;
}

export interface LayerShape {
  heads: number;
  eps: number;
}

/** x Wᵀ + b over the last axis of x (GELU too with `gelu`), in one kernel. */
export function linearForward(x: Tensor, l: Linear, { gelu = false } = {}): Tensor {
  return matmul(x, l.weight, { transB: true, bias: l.bias, gelu });
}

/**
 * dx = dy W, plus `addend` in the same pass (the gradient that other paths send to the same
 * input). No weight gradients: pruning never updates weights.
 */
export function linearBackward(dy: Tensor, l: Linear, addend?: Tensor): Tensor {
  return matmul(dy, l.weight, addend ? { addend } : {});
}

export interface LayerMasks {
  /** [batch, seq]: 0 for tokens, the float32 minimum for padding. */
  keyBias?: Tensor;
  /** [heads] */
  headMask?: Tensor;
  /** [intermediate] */
  neuronMask?: Tensor;
}

/** What one layer's forward keeps for its backward (each tensor is read there). */
export interface LayerSaved {
  attention: AttentionSaved;
  /** The sum before each LayerNorm, and its statistics. */
  norm1: LayernormSaved & { input: Tensor };
  /** GELU's input and output, [batch, seq, intermediate]: the output is what the neuron mask multiplies. */
  preActivation: Tensor;
  activation: Tensor;
  norm2: LayernormSaved & { input: Tensor };
}

/**
 * What a forward keeps for its backward, layer by layer: the one owner of the saved
 * tensors, which leave the forward's tidy scope here and are freed together by `dispose`
 * (llm.c's activation arena: one place allocates the saved state, one frees it).
 */
export class Tape {
  readonly layers: LayerSaved[] = [];
  private readonly tensors = new Set<Tensor>();

  /** Takes one layer's saved tensors into the tape. */
  push(saved: LayerSaved): void {
    const own = (t: Tensor) => { t.runtime.keep(t); this.tensors.add(t); };
    for (const t of [saved.attention.q, saved.attention.k, saved.attention.v, saved.attention.probs, saved.attention.context,
      saved.norm1.input, saved.norm1.mean, saved.norm1.rstd, saved.preActivation, saved.activation,
      saved.norm2.input, saved.norm2.mean, saved.norm2.rstd]) own(t);
    this.layers.push(saved);
  }

  dispose(): void {
    for (const t of this.tensors) t.dispose();
    this.tensors.clear();
    this.layers.length = 0;
  }
}

/**
 * A post-LayerNorm sub-layer's result: `out` = LN(residual), with `residual` = the
 * sub-layer's output + its input (what mask tuning compares), and the LayerNorm's
 * statistics for the backward. The sum and the LayerNorm are one launch
 * (addLayernormForward).
 */
export interface BlockOutput {
  out: Tensor;
  residual: Tensor;
  norm: LayernormSaved;
}

/** LN(y + x) with the norm's parameters, fused; a sub-layer without units adds its bias alone. */
function residualNorm(y: Tensor, x: Tensor, norm: Norm, eps: number): BlockOutput {
  const n = addLayernormForward(y, x, norm.gamma, norm.beta, eps);
  return { out: n.y, residual: n.x, norm: { mean: n.mean, rstd: n.rstd } };
}

function biasNorm(x: Tensor, bias: Tensor, norm: Norm, eps: number): BlockOutput {
  const residual = add(x, bias);
  const n = layernormForward(residual, norm.gamma, norm.beta, eps);
  return { out: n.y, residual, norm: { mean: n.mean, rstd: n.rstd } };
}

/**
 * The attention block: h1 = LN(Attention(x) W_o + b_o + x) (docs/method.md, "Where the
 * masks sit"), for any number of heads: all of them (unpruned, masked or not), the kept
 * ones of a physically pruned layer, or none (then LN(x + b_o)). Also the heads' merged
 * context [batch, seq, heads·headDim], the input of W_o (mask tuning reads it, without a
 * head mask) and, with `save`, what the backward needs.
 */
export function attentionBlock(x: Tensor, w: EncoderLayer, shape: LayerShape, masks: LayerMasks = {}, save = false): BlockOutput & { context?: Tensor; saved?: AttentionSaved } {
  if (shape.heads === 0) {
    if (save) throw new ModelError('attentionBlock: a layer without heads has no backward; prune masks, not weights, before computing gradients');
    return x.runtime.tidy(() => biasNorm(x, w.attentionOutput.bias, w.attentionNorm, shape.eps));
  }
  return x.runtime.tidy(() => {
    const q = linearForward(x, w.query), k = linearForward(x, w.key), v = linearForward(x, w.value);
    const att = attentionForward(q, k, v, shape.heads, { ...(masks.keyBias ? { keyBias: masks.keyBias } : {}), ...(masks.headMask ? { headMask: masks.headMask } : {}) });
    const block = residualNorm(linearForward(att.out, w.attentionOutput), x, w.attentionNorm, shape.eps);
    return { ...block, context: att.out, ...(save ? { saved: att.saved } : {}) };
  });
}

/**
 * The FFN block: out = LN((GELU(h1 W1 + b1) ∘ neuronMask) W2 + b2 + h1), for any number of
 * neurons (none: LN(h1 + b2)). Also the activation before the mask and, with `save`,
 * GELU's input (inference takes GELU in the matmul's epilogue instead).
 */
export function ffnBlock(h1: Tensor, w: EncoderLayer, eps: number, masks: LayerMasks = {}, save = false): BlockOutput & { activation?: Tensor; preActivation?: Tensor } {
  if (w.intermediate.weight.shape[0] === 0) {
    if (save) throw new ModelError('ffnBlock: a layer without neurons has no backward; prune masks, not weights, before computing gradients');
    return h1.runtime.tidy(() => biasNorm(h1, w.output.bias, w.outputNorm, eps));
  }
  return h1.runtime.tidy(() => {
    const preActivation = save ? linearForward(h1, w.intermediate) : undefined;
    const activation = preActivation ? geluForward(preActivation) : linearForward(h1, w.intermediate, { gelu: true });
    const masked = masks.neuronMask ? applyMask(activation, masks.neuronMask, -1) : activation;
    const block = residualNorm(linearForward(masked, w.output), h1, w.outputNorm, eps);
    return { ...block, activation, ...(preActivation ? { preActivation } : {}) };
  });
}

/**
 * A post-LayerNorm BERT layer: the attention block, then the FFN block, whatever its heads
 * and neurons (full, masked or physically pruned are this code with other shapes). With a
 * `tape`, keeps what encoderLayerBackward needs there.
 */
export function encoderLayerForward(x: Tensor, w: EncoderLayer, shape: LayerShape, masks: LayerMasks = {}, tape?: Tape): Tensor {
  return x.runtime.tidy(() => {
    const save = !!tape;
    const a = attentionBlock(x, w, shape, masks, save);
    const f = ffnBlock(a.out, w, shape.eps, masks, save);
    tape?.push({
      attention: a.saved!, norm1: { input: a.residual, ...a.norm },
      preActivation: f.preActivation!, activation: f.activation!, norm2: { input: f.residual, ...f.norm },
    });
    return f.out;
  });
}

export interface MaskGradients {
  /** [batch, layers, heads] and [batch, layers, intermediate]: per-example gradients, written at `layer`. */
  head?: Tensor;
  neuron?: Tensor;
  layer: number;
}

/**
 * Backward of encoderLayerForward to its input, from the layer's saved state (owned by the
 * tape), writing the per-example head and neuron mask gradients of this layer
 * (docs/method.md step 1).
 */
export function encoderLayerBackward(saved: LayerSaved, dOut: Tensor, w: EncoderLayer, masks: LayerMasks, grads: MaskGradients): Tensor {
  return dOut.runtime.tidy(() => {
    const n2 = layernormBackward(saved.norm2.input, w.outputNorm.gamma, saved.norm2, dOut);
    const dMasked = linearBackward(n2.dx, w.output);
    if (grads.neuron) maskGradient(saved.activation, dMasked, 2, grads.neuron, grads.layer);
    const dAct = masks.neuronMask ? applyMask(dMasked, masks.neuronMask, -1) : dMasked;
    const dPre = geluBackward(saved.preActivation, dAct);
    const dH1 = linearBackward(dPre, w.intermediate, n2.dx);

    const n1 = layernormBackward(saved.norm1.input, w.attentionNorm.gamma, saved.norm1, dH1);
    const ag = attentionBackward(saved.attention, linearBackward(n1.dx, w.attentionOutput), {
      ...(masks.headMask ? { headMask: masks.headMask } : {}),
      ...(grads.head ? { headMaskGrad: grads.head } : {}),
      layer: grads.layer,
    });
    // dx = dq Wq + dk Wk + dv Wv + the residual's gradient, summed in the matmuls' epilogues.
    return linearBackward(ag.dv, w.value, linearBackward(ag.dk, w.key, linearBackward(ag.dq, w.query, n1.dx)));
  });
}
