import { geluBackward, geluForward } from '../ops/activation.js';
import { attentionBackward, attentionForward, disposeAttention, type AttentionSaved } from '../ops/attention.js';
import { add } from '../ops/elementwise.js';
import { layernormBackward, layernormForward, type LayernormSaved } from '../ops/layernorm.js';
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

/** dx = dy W (no weight gradients: pruning never updates weights). */
export function linearBackward(dy: Tensor, l: Linear): Tensor {
  return matmul(dy, l.weight);
}

export interface LayerMasks {
  /** [batch, seq]: 0 for tokens, the float32 minimum for padding. */
  keyBias?: Tensor;
  /** [heads] */
  headMask?: Tensor;
  /** [intermediate] */
  neuronMask?: Tensor;
}

export interface LayerSaved {
  x: Tensor;
  attention: AttentionSaved;
  norm1: LayernormSaved & { input: Tensor };
  h1: Tensor;
  /** GELU input and output, [batch, seq, intermediate]. */
  preActivation: Tensor;
  activation: Tensor;
  norm2: LayernormSaved & { input: Tensor };
}

/**
 * A BERT layer with head and neuron masks (docs/method.md, "Where the masks sit"):
 * h1 = LN(Attention(x) W_o + b_o + x), out = LN((GELU(h1 W1 + b1) ∘ neuronMask) W2 + b2 + h1).
 * Keeps what the backward needs when `save` is set; otherwise frees it.
 */
export function encoderLayerForward(x: Tensor, w: EncoderLayer, shape: LayerShape, masks: LayerMasks = {}, save = false): { out: Tensor; saved?: LayerSaved } {
  // A physically pruned layer may keep no heads or no neurons: that block then adds only
  // its output bias.
  if (shape.heads === 0 || w.intermediate.weight.shape[0] === 0) {
    if (save) throw new ModelError('encoderLayerForward: a layer without heads or neurons has no backward; prune masks, not weights, before computing gradients');
    return { out: prunedLayerForward(x, w, shape, masks) };
  }
  const q = linearForward(x, w.query), k = linearForward(x, w.key), v = linearForward(x, w.value);
  const att = attentionForward(q, k, v, shape.heads, { ...(masks.keyBias ? { keyBias: masks.keyBias } : {}), ...(masks.headMask ? { headMask: masks.headMask } : {}) });
  for (const t of [q, k, v]) t.dispose();
  const projected = linearForward(att.out, w.attentionOutput);
  att.out.dispose();
  const res1 = add(projected, x);
  projected.dispose();
  const n1 = layernormForward(res1, w.attentionNorm.gamma, w.attentionNorm.beta, shape.eps);
  // The backward needs GELU's input; inference takes GELU in the matmul's epilogue.
  const pre = save ? linearForward(n1.y, w.intermediate) : undefined;
  const act = pre ? geluForward(pre) : linearForward(n1.y, w.intermediate, { gelu: true });
  const masked = masks.neuronMask ? applyMask(act, masks.neuronMask, -1) : act;
  const ffn = linearForward(masked, w.output);
  if (masked !== act) masked.dispose();
  const res2 = add(ffn, n1.y);
  ffn.dispose();
  const n2 = layernormForward(res2, w.outputNorm.gamma, w.outputNorm.beta, shape.eps);
  if (!save) {
    disposeAttention(att.saved);
    for (const t of [res1, n1.y, n1.mean, n1.rstd, act, res2, n2.mean, n2.rstd]) t.dispose();
    return { out: n2.y };
  }
  return {
    out: n2.y,
    saved: {
      x, attention: att.saved, norm1: { input: res1, mean: n1.mean, rstd: n1.rstd }, h1: n1.y,
      preActivation: pre!, activation: act, norm2: { input: res2, mean: n2.mean, rstd: n2.rstd },
    },
  };
}

/** The attention sub-layer: the (unmasked) context of its heads [batch, seq, heads·headDim], and the sum before LayerNorm. */
export function attentionBlock(x: Tensor, w: EncoderLayer & { keptHeads: number }, keyBias?: Tensor): { context?: Tensor; residual: Tensor } {
  if (w.keptHeads === 0) return { residual: add(x, w.attentionOutput.bias) };
  const q = linearForward(x, w.query), k = linearForward(x, w.key), v = linearForward(x, w.value);
  const att = attentionForward(q, k, v, w.keptHeads, keyBias ? { keyBias } : {});
  disposeAttention(att.saved);
  for (const t of [q, k, v]) t.dispose();
  const projected = linearForward(att.out, w.attentionOutput);
  const residual = add(projected, x);
  projected.dispose();
  return { context: att.out, residual };
}

/** The FFN sub-layer from its input h1: the activations of its neurons and the sum before LayerNorm. */
export function ffnBlock(h1: Tensor, w: EncoderLayer & { keptNeurons: number }): { activation?: Tensor; residual: Tensor } {
  if (w.keptNeurons === 0) return { residual: add(h1, w.output.bias) };
  const activation = linearForward(h1, w.intermediate, { gelu: true });
  const out = linearForward(activation, w.output);
  const residual = add(out, h1);
  out.dispose();
  return { activation, residual };
}

/** Inference through a layer whose attention or FFN was removed entirely. */
function prunedLayerForward(x: Tensor, w: EncoderLayer, shape: LayerShape, masks: LayerMasks): Tensor {
  return x.runtime.tidy(() => {
    let res1: Tensor;
    if (shape.heads === 0) {
      res1 = add(x, w.attentionOutput.bias);
    } else {
      const q = linearForward(x, w.query), k = linearForward(x, w.key), v = linearForward(x, w.value);
      const att = attentionForward(q, k, v, shape.heads, { ...(masks.keyBias ? { keyBias: masks.keyBias } : {}), ...(masks.headMask ? { headMask: masks.headMask } : {}) });
      disposeAttention(att.saved);
      res1 = add(linearForward(att.out, w.attentionOutput), x);
    }
    const h1 = layernormForward(res1, w.attentionNorm.gamma, w.attentionNorm.beta, shape.eps).y;
    let res2: Tensor;
    if (w.intermediate.weight.shape[0] === 0) {
      res2 = add(h1, w.output.bias);
    } else {
      const act = linearForward(h1, w.intermediate, { gelu: true });
      res2 = add(linearForward(masks.neuronMask ? applyMask(act, masks.neuronMask, -1) : act, w.output), h1);
    }
    return layernormForward(res2, w.outputNorm.gamma, w.outputNorm.beta, shape.eps).y;
  });
}

export interface MaskGradients {
  /** [batch, layers, heads] and [batch, layers, intermediate]: per-example gradients, written at `layer`. */
  head?: Tensor;
  neuron?: Tensor;
  layer: number;
}

/**
 * Backward of encoderLayerForward to its input, writing the per-example head and neuron
 * mask gradients of this layer (docs/method.md step 1). Frees `saved`.
 */
export function encoderLayerBackward(saved: LayerSaved, dOut: Tensor, w: EncoderLayer, masks: LayerMasks, grads: MaskGradients): Tensor {
  const n2 = layernormBackward(saved.norm2.input, w.outputNorm.gamma, saved.norm2, dOut);
  const dMasked = linearBackward(n2.dx, w.output);
  if (grads.neuron) maskGradient(saved.activation, dMasked, 2, grads.neuron, grads.layer);
  const dAct = masks.neuronMask ? applyMask(dMasked, masks.neuronMask, -1) : dMasked;
  const dPre = geluBackward(saved.preActivation, dAct);
  const dH1ffn = linearBackward(dPre, w.intermediate);
  const dH1 = add(dH1ffn, n2.dx);
  for (const t of new Set([n2.dx, dMasked, dAct, dPre, dH1ffn])) t.dispose();

  const n1 = layernormBackward(saved.norm1.input, w.attentionNorm.gamma, saved.norm1, dH1);
  dH1.dispose();
  const dAtt = linearBackward(n1.dx, w.attentionOutput);
  const ag = attentionBackward(saved.attention, dAtt, {
    ...(masks.headMask ? { headMask: masks.headMask } : {}),
    ...(grads.head ? { headMaskGrad: grads.head } : {}),
    layer: grads.layer,
  });
  dAtt.dispose();
  const dxq = linearBackward(ag.dq, w.query), dxk = linearBackward(ag.dk, w.key), dxv = linearBackward(ag.dv, w.value);
  const s1 = add(dxq, dxk), s2 = add(s1, dxv), dx = add(s2, n1.dx);
  for (const t of [ag.dq, ag.dk, ag.dv, dxq, dxk, dxv, s1, s2, n1.dx]) t.dispose();
  disposeLayerSaved(saved);
  return dx;
}

export function disposeLayerSaved(saved: LayerSaved): void {
  disposeAttention(saved.attention);
  for (const t of [saved.norm1.input, saved.norm1.mean, saved.norm1.rstd, saved.h1, saved.preActivation, saved.activation,
    saved.norm2.input, saved.norm2.mean, saved.norm2.rstd]) t.dispose();
}
