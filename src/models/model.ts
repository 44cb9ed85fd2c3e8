import { reluBackward, reluForward, tanhBackward, tanhForward } from '../ops/activation.js';
import { add } from '../ops/elementwise.js';
import { crossEntropyBackward, crossEntropyForward, mseBackward, mseForward, spanLossBackward, spanLossForward } from '../ops/loss.js';
import { matmul } from '../ops/matmul.js';
import { checkIds, embeddingForward } from '../ops/embedding.js';
import { layernormForward } from '../ops/layernorm.js';
import { permute } from '../ops/transpose.js';
import { ModelError, ShapeError } from '../runtime/errors.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Tensor } from '../runtime/tensor.js';
import { maxSequenceLength, type ModelConfig } from './config.js';
import { Tape, encoderLayerBackward, encoderLayerForward, linearBackward, linearForward, type Linear } from './encoder.js';
import { disposeWeights, loadWeights, type ModelWeights, type WeightSource } from './weights.js';

/** A padded batch of token ids, row-major [batch, seq]. */
export interface TokenBatch {
  batch: number;
  seq: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds?: Int32Array;
}

/** Real-valued masks, one array per layer: heads [keptHeads], neurons [keptNeurons]. */
export interface ModelMasks {
  head?: ArrayLike<number>[];
  neuron?: ArrayLike<number>[];
}

/** Start and end token of each example's answer (run_qa.py's training labels). */
export type SpanTarget = { startPositions: Int32Array; endPositions: Int32Array };

/** What maskGradients compares the output with: class labels, regression targets, or answer spans. */
export type MaskGradientTarget = { labels: Int32Array } | { targets: Float32Array } | SpanTarget;

export type ModelOutput = { kind: 'classification'; logits: Tensor } | { kind: 'question-answering'; start: Tensor; end: Tensor };

const float32Min = -3.4028234663852886e38;

/** A BERT, DistilBERT or RoBERTa encoder with its task head, on the device. */
export class EncoderModel {
  private constructor(readonly rt: Runtime, readonly config: ModelConfig, readonly weights: ModelWeights) {}

  static async load(rt: Runtime, config: ModelConfig, source: WeightSource): Promise<EncoderModel> {
    return new EncoderModel(rt, config, await loadWeights(rt, config, source));
  }

  /** Kept heads and neurons of each layer (the config's sizes unless physically pruned). */
  get layerSizes(): { heads: number; neurons: number }[] {
    return this.weights.layers.map((l) => ({ heads: l.keptHeads, neurons: l.keptNeurons }));
  }

  private checkBatch(b: TokenBatch): void {
    const n = b.batch * b.seq;
    if (b.inputIds.length !== n || b.attentionMask.length !== n || (b.tokenTypeIds && b.tokenTypeIds.length !== n)) {
      throw new ShapeError(`model: a batch of ${b.batch} x ${b.seq} needs ${n} ids, mask and type values`);
    }
    const max = maxSequenceLength(this.config);
    if (b.seq > max) throw new ModelError(`model: sequences of ${b.seq} tokens are longer than this model's ${max} positions; truncate them (e.g. --max-length ${max})`);
    // The device clamps ids outside a table, which keeps reads in bounds but gives wrong
    // logits without a word: a tokenizer whose vocabulary is larger than the model's, say.
    checkIds(b.inputIds, this.config.vocabSize, 'model: input ids (vocab_size)', b.seq);
    if (b.tokenTypeIds && this.weights.embeddings.tokenType) checkIds(b.tokenTypeIds, this.config.typeVocabSize, 'model: token type ids (type_vocab_size)', b.seq);
  }

  /** [batch, seq, hidden] after the embeddings' LayerNorm: the first layer's input. */
  embed(b: TokenBatch): Tensor {
    const rt = this.rt, e = this.weights.embeddings;
    return rt.tidy(() => {
      const ids = rt.tensor(b.inputIds, [b.batch, b.seq], 'i32');
      let positionIds: Tensor | undefined;
      if (this.config.modelType === 'roberta') {
        // Hugging Face's create_position_ids_from_input_ids: positions count real tokens, after the padding index.
        const pad = this.config.padTokenId, pos = new Int32Array(b.batch * b.seq);
        for (let r = 0; r < b.batch; r++) {
          let count = 0;
          for (let c = 0; c < b.seq; c++) {
            const i = r * b.seq + c;
            pos[i] = b.inputIds[i] !== pad ? ++count + pad : pad;
          }
        }
        // The device would clamp a position past the table: refuse it here (embed() is also
        // called without checkBatch, by mask tuning).
        checkIds(pos, this.config.maxPositions, `model: RoBERTa position ids (pad_token_id ${pad} + token count; max_position_embeddings)`, b.seq);
        positionIds = rt.tensor(pos, [b.batch, b.seq], 'i32');
      } else if (b.seq > this.config.maxPositions) {
        throw new ModelError(`model: sequences of ${b.seq} tokens are longer than this model's ${this.config.maxPositions} positions`);
      }
      const types = b.tokenTypeIds && e.tokenType ? rt.tensor(b.tokenTypeIds, [b.batch, b.seq], 'i32') : undefined;
      const summed = embeddingForward({
        inputIds: ids, word: e.word, position: e.position,
        ...(e.tokenType ? { tokenType: e.tokenType } : {}), ...(types ? { tokenTypeIds: types } : {}), ...(positionIds ? { positionIds } : {}),
      });
      return layernormForward(summed, e.norm.gamma, e.norm.beta, this.config.layerNormEps).y;
    });
  }

  /** Final hidden states [batch, seq, hidden]. */
  encode(b: TokenBatch, masks: ModelMasks = {}): Tensor {
    this.checkBatch(b);
    const rt = this.rt, c = this.config;
    const keyBias = rt.tensor(Float32Array.from(b.attentionMask, (m) => (m ? 0 : float32Min)), [b.batch, b.seq]);
    let h = this.embed(b);
    this.weights.layers.forEach((w, l) => {
      const hm = masks.head?.[l], nm = masks.neuron?.[l];
      if (hm && hm.length !== w.keptHeads) throw new ShapeError(`model: head mask of layer ${l} has ${hm.length} values for ${w.keptHeads} heads`);
      if (nm && nm.length !== w.keptNeurons) throw new ShapeError(`model: neuron mask of layer ${l} has ${nm.length} values for ${w.keptNeurons} neurons`);
      const headMask = hm && w.keptHeads ? rt.tensor(hm, [w.keptHeads]) : undefined;
      // A padded FFN (paddedWidth) has zero neurons past keptNeurons: their mask values are 0.
      const width = w.intermediate.weight.shape[0]!;
      const neuronMask = nm && w.keptNeurons ? rt.tensor(width === nm.length ? nm : [...Array.from(nm), ...new Array<number>(width - nm.length).fill(0)], [width]) : undefined;
      const next = encoderLayerForward(h, w, { heads: w.keptHeads, eps: c.layerNormEps }, {
        keyBias, ...(headMask ? { headMask } : {}), ...(neuronMask ? { neuronMask } : {}),
      });
      h.dispose();
      headMask?.dispose();
      neuronMask?.dispose();
      h = next;
    });
    keyBias.dispose();
    return h;
  }

  /** The task head on the final hidden states: class logits, or start/end logits. */
  head(hidden: Tensor): ModelOutput {
    const rt = this.rt, h = this.weights.head;
    const [batch, seq] = hidden.shape as [number, number, number];
    if (h.kind === 'qa') {
      return rt.tidy(() => {
        const logits = linearForward(hidden, h.qa); // [batch, seq, 2]
        const split = permute(logits, [2, 0, 1]); // [2, batch, seq]
        return { kind: 'question-answering' as const, start: split.rows(0, 1).reshape([batch, seq]), end: split.rows(1, 2).reshape([batch, seq]) };
      });
    }
    return rt.tidy(() => ({ kind: 'classification' as const, logits: this.classifier(hidden).logits }));
  }

  /**
   * The classification head on the first token ([CLS] / <s>) of each sequence: BERT's
   * pooler (tanh) and classifier, DistilBERT's pre-classifier (ReLU) and classifier, or
   * RoBERTa's dense (tanh) and out_proj; with the inner layer's input and output, which
   * the backward needs. Call inside rt.tidy.
   */
  private classifier(hidden: Tensor): { first: Tensor; pre: Tensor; act: Tensor; logits: Tensor; inner: Linear; outer: Linear; relu: boolean } {
    const h = this.weights.head;
    if (h.kind === 'qa') throw new ModelError('model: a question-answering head has no classifier');
    const [batch, , width] = hidden.shape as [number, number, number];
    const first = permute(hidden, [1, 0, 2]).rows(0, 1).reshape([batch, width]);
    const [inner, outer] = h.kind === 'bert' ? [h.pooler, h.classifier] : h.kind === 'distilbert' ? [h.preClassifier, h.classifier] : [h.dense, h.outProj];
    const relu = h.kind === 'distilbert';
    const pre = linearForward(first, inner);
    const act = relu ? reluForward(pre) : tanhForward(pre);
    return { first, pre, act, logits: linearForward(act, outer), inner, outer, relu };
  }

  /**
   * docs/method.md step 1: each example's gradient of its own loss with respect to the head and
   * neuron masks, at all masks 1: `head` [batch, layers, heads], `neuron` [batch, layers,
   * intermediate], with each example's loss, `losses` [batch]. The forward keeps what the
   * backward needs; the backward runs from the loss through the task head to the final
   * hidden states, then through every layer, where the mask gradients are reductions of
   * what flows back (encoderLayerBackward). No weight gradient is formed.
   * Classification takes `labels` (cross-entropy), regression (one output) `targets` (squared
   * error), question answering `startPositions` and `endPositions` (Hugging Face's span loss,
   * (start CE + end CE) / 2 per example, positions clamped to [0, seq] and seq ignored).
   * Physically pruned models are refused.
   */
  maskGradients(b: TokenBatch, target: MaskGradientTarget): { head: Tensor; neuron: Tensor; losses: Tensor } {
    this.checkBatch(b);
    const rt = this.rt, c = this.config;
    if (this.weights.head.kind === 'qa') {
      if (!('startPositions' in target)) throw new ModelError(`maskGradients: ${'labels' in target ? 'labels' : 'targets'} given to a question-answering model; pass startPositions and endPositions`);
    } else if ('startPositions' in target) {
      throw new ModelError(`maskGradients: start and end positions given to a ${c.numLabels === 1 ? 'regression model' : 'classifier'}; pass ${c.numLabels === 1 ? 'targets' : 'labels'}`);
    }
    if (this.weights.layers.some((w) => w.keptHeads !== c.heads || w.keptNeurons !== c.intermediate)) {
      throw new ModelError('maskGradients: the model is physically pruned; mask gradients are taken on the unpruned model');
    }
    const L = this.weights.layers.length;
    const tape = new Tape();
    let head: Tensor | undefined, neuron: Tensor | undefined;
    try {
      head = rt.tensor(new Float32Array(b.batch * L * c.heads), [b.batch, L, c.heads]);
      neuron = rt.tensor(new Float32Array(b.batch * L * c.intermediate), [b.batch, L, c.intermediate]);
      const [hg, ng] = [head, neuron];
      const losses = rt.tidy(() => {
        const keyBias = rt.tensor(Float32Array.from(b.attentionMask, (m) => (m ? 0 : float32Min)), [b.batch, b.seq]);
        let x = this.embed(b);
        for (const w of this.weights.layers) x = encoderLayerForward(x, w, { heads: w.keptHeads, eps: c.layerNormEps }, { keyBias }, tape);
        const top = 'startPositions' in target ? this.spanHeadBackward(x, target) : this.classifierHeadBackward(x, target);
        let d = top.dHidden;
        for (let l = L - 1; l >= 0; l--) {
          d = encoderLayerBackward(tape.layers[l]!, d, this.weights.layers[l]!, { keyBias }, { head: hg, neuron: ng, layer: l });
        }
        return top.losses;
      });
      return { head: hg, neuron: ng, losses };
    } catch (e) {
      head?.dispose();
      neuron?.dispose();
      throw e;
    } finally {
      tape.dispose();
    }
  }

  /**
   * Classification or regression head, forward and back, from the final hidden states
   * [batch, seq, hidden]: each example's loss [batch] and its gradient with respect to the
   * hidden states, non-zero only on the first token ([CLS] / <s>). Call inside rt.tidy.
   */
  private classifierHeadBackward(x: Tensor, target: { labels: Int32Array } | { targets: Float32Array }): { losses: Tensor; dHidden: Tensor } {
    const rt = this.rt, c = this.config;
    const [batch, seq] = x.shape as [number, number, number];
    const { pre, act, logits, inner, outer, relu } = this.classifier(x);
    let losses: Tensor, dLogits: Tensor;
    if ('labels' in target) {
      if (c.numLabels < 2) throw new ModelError(`maskGradients: labels given to a regression model (${c.numLabels} output); pass targets`);
      const labels = rt.tensor(target.labels, [batch], 'i32');
      losses = crossEntropyForward(logits, labels).losses;
      dLogits = crossEntropyBackward(logits, labels, { perExample: true });
    } else {
      if (c.numLabels !== 1) throw new ModelError(`maskGradients: targets given to a classifier of ${c.numLabels} classes; pass labels`);
      const targets = rt.tensor(target.targets, [batch]);
      losses = mseForward(logits, targets).losses;
      dLogits = mseBackward(logits, targets, { perExample: true });
    }
    const dAct = linearBackward(dLogits, outer);
    const dPre = relu ? reluBackward(pre, dAct) : tanhBackward(act, dAct);
    const dFirst = linearBackward(dPre, inner);
    // Into token 0 of each sequence: [batch·hidden, 1] x e0 [1, seq], then [batch, seq, hidden].
    const e0 = rt.tensor(Float32Array.from({ length: seq }, (_, i) => (i === 0 ? 1 : 0)), [1, seq]);
    const dHidden = permute(matmul(dFirst.reshape([batch * c.hidden, 1]), e0).reshape([batch, c.hidden, seq]), [0, 2, 1]);
    return { losses, dHidden };
  }

  /**
   * Question-answering head, forward and back, from the final hidden states [batch, seq,
   * hidden]: each example's span loss [batch] and its gradient with respect to every token's
   * hidden state, [dStart, dEnd] [batch, seq, 2] through the qa Linear. Call inside rt.tidy.
   */
  private spanHeadBackward(x: Tensor, target: SpanTarget): { losses: Tensor; dHidden: Tensor } {
    const rt = this.rt, c = this.config, h = this.weights.head;
    if (h.kind !== 'qa') throw new ModelError('maskGradients: start and end positions need a question-answering head');
    const [batch, seq] = x.shape as [number, number, number];
    const out = this.head(x) as Extract<ModelOutput, { kind: 'question-answering' }>;
    const startPositions = rt.tensor(target.startPositions, [batch], 'i32'), endPositions = rt.tensor(target.endPositions, [batch], 'i32');
    const losses = spanLossForward(out.start, out.end, startPositions, endPositions).losses;
    const { dStart, dEnd } = spanLossBackward(out.start, out.end, startPositions, endPositions, { perExample: true }); // [batch, seq] each
    // Stacked as [batch·seq, 2] (column 0 start, column 1 end, as head() splits the logits):
    // each through a one-hot row, for want of a concatenation op.
    const column = (j: number) => rt.tensor(Float32Array.from({ length: 2 }, (_, i) => (i === j ? 1 : 0)), [1, 2]);
    const dLogits = add(matmul(dStart.reshape([batch * seq, 1]), column(0)), matmul(dEnd.reshape([batch * seq, 1]), column(1)));
    return { losses, dHidden: linearBackward(dLogits, h.qa).reshape([batch, seq, c.hidden]) };
  }

  forward(b: TokenBatch, masks: ModelMasks = {}): ModelOutput {
    const hidden = this.encode(b, masks);
    const out = this.head(hidden);
    hidden.dispose();
    return out;
  }

  dispose(): void {
    disposeWeights(this.weights);
  }
}
