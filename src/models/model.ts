import { reluForward, tanhForward } from '../ops/activation.js';
import { embeddingForward } from '../ops/embedding.js';
import { layernormForward } from '../ops/layernorm.js';
import { permute } from '../ops/transpose.js';
import { ModelError, ShapeError } from '../runtime/errors.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Tensor } from '../runtime/tensor.js';
import { maxSequenceLength, type ModelConfig } from './config.js';
import { encoderLayerForward, linearForward } from './encoder.js';
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
  }

  /** [batch, seq, hidden] after the embeddings' LayerNorm. */
  private embed(b: TokenBatch): Tensor {
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
        positionIds = rt.tensor(pos, [b.batch, b.seq], 'i32');
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
      const neuronMask = nm && w.keptNeurons ? rt.tensor(nm, [w.keptNeurons]) : undefined;
      const next = encoderLayerForward(h, w, { heads: w.keptHeads, eps: c.layerNormEps }, {
        keyBias, ...(headMask ? { headMask } : {}), ...(neuronMask ? { neuronMask } : {}),
      }).out;
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
    return rt.tidy(() => {
      // The first token ([CLS] / <s>) of each sequence: [batch, hidden].
      const first = permute(hidden, [1, 0, 2]).rows(0, 1).reshape([batch, hidden.shape[2]!]);
      const logits = h.kind === 'bert' ? linearForward(tanhForward(linearForward(first, h.pooler)), h.classifier)
        : h.kind === 'distilbert' ? linearForward(reluForward(linearForward(first, h.preClassifier)), h.classifier)
        : linearForward(tanhForward(linearForward(first, h.dense)), h.outProj);
      return { kind: 'classification' as const, logits };
    });
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
