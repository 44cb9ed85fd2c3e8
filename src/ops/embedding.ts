import { mapWorkgroupSize, powerOfTwoWorkgroup } from '../../shaders/common.js';
import { embeddingGatherKernel, embeddingGradRowsKernel, embeddingSortKernel } from '../../shaders/embedding.js';
import { DTypeError, IdRangeError, LimitError, ShapeError } from '../runtime/errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { shapeString, type Tensor } from '../runtime/tensor.js';
import { maxThreadsPerLaunch, spans } from './launch.js';

/**
 * Throws on the first id outside [0, rows), naming it and where it is ([row, column] when
 * `seq` is given). For callers that hold ids on the host (the tokenizer's output): on the
 * device, the kernels clamp bad ids instead, which keeps reads in bounds but hides the bug.
 */
export function checkIds(ids: ArrayLike<number>, rows: number, what: string, seq?: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (Number.isInteger(id) && id >= 0 && id < rows) continue;
    const where = seq ? `[${Math.floor(i / seq)}, ${i % seq}]` : `${i}`;
    throw new IdRangeError(`${what}: id ${id} at ${where} is outside [0, ${rows}); check the tokenizer or the model's config matches the checkpoint`);
  }
}

/** BERT-style embedding inputs; the sum follows Hugging Face: word + token type, then + position. */
export interface EmbeddingInputs {
  /** i32 [batch, seq] */
  inputIds: Tensor;
  /** i32 [batch, seq]; when omitted and `tokenType` is given, all 0, as Hugging Face does. */
  tokenTypeIds?: Tensor;
  /** i32 [batch, seq]; 0..seq-1 in every row when omitted (RoBERTa passes its own, past the padding index). */
  positionIds?: Tensor;
  /** f32 [vocab, hidden] */
  word: Tensor;
  /** f32 [maxPositions, hidden] */
  position: Tensor;
  /** f32 [typeVocab, hidden]; DistilBERT has none. */
  tokenType?: Tensor;
}

export interface EmbeddingGrads {
  /** Each the shape of its table. */
  dWord: Tensor;
  dPosition: Tensor;
  dTokenType?: Tensor;
}

export interface EmbeddingBackwardOptions {
  /**
   * Rows whose gradient stays 0, as nn.Embedding's padding_idx: the pad token of word
   * embeddings (BERT 0, RoBERTa 1), and RoBERTa's padding position (1).
   */
  paddingIdx?: { word?: number; position?: number };
}

/** One table with the ids that index it; `temporary` ids were made here and are disposed after. */
interface Lookup {
  name: string;
  table: Tensor;
  ids: Tensor;
  temporary: boolean;
}

function checkTable(op: string, name: string, table: Tensor, hidden: number): void {
  table.check(op);
  if (table.dtype !== 'f32') throw new DTypeError(`${op}: ${name} must be f32, got ${table}`);
  if (table.rank !== 2 || table.shape[0] === 0 || table.shape[1] !== hidden) {
    throw new ShapeError(`${op}: ${name} ${shapeString(table.shape)} is not [rows >= 1, ${hidden}] (hidden from the word embeddings)`);
  }
}

function checkIdTensor(op: string, name: string, ids: Tensor, shape: readonly number[]): void {
  ids.check(op);
  if (ids.dtype !== 'i32') throw new DTypeError(`${op}: ${name} must be i32, got ${ids}`);
  if (ids.rank !== 2 || ids.shape[0] !== shape[0] || ids.shape[1] !== shape[1]) {
    throw new ShapeError(`${op}: ${name} ${shapeString(ids.shape)} is not [batch, seq] = ${shapeString(shape)} like inputIds`);
  }
}

/** Checks the inputs; returns the sizes. */
function shapesOf(op: string, inputs: EmbeddingInputs): { batch: number; seq: number; hidden: number } {
  const { inputIds, tokenTypeIds, positionIds, word, position, tokenType } = inputs;
  inputIds.check(op);
  if (inputIds.dtype !== 'i32') throw new DTypeError(`${op}: inputIds must be i32, got ${inputIds}`);
  if (inputIds.rank !== 2) throw new ShapeError(`${op}: inputIds ${shapeString(inputIds.shape)} is not [batch, seq]`);
  const [batch, seq] = inputIds.shape as [number, number];
  word.check(op);
  if (word.rank !== 2) throw new ShapeError(`${op}: word ${shapeString(word.shape)} is not [vocab, hidden]`);
  const hidden = word.shape[1]!;
  if (hidden === 0) throw new ShapeError(`${op}: word ${shapeString(word.shape)} has no hidden size`);
  checkTable(op, 'word', word, hidden);
  checkTable(op, 'position', position, hidden);
  if (tokenType) checkTable(op, 'tokenType', tokenType, hidden);
  if (tokenTypeIds && !tokenType) throw new ShapeError(`${op}: tokenTypeIds were given but no tokenType table (DistilBERT has none: leave the ids out)`);
  if (tokenTypeIds) checkIdTensor(op, 'tokenTypeIds', tokenTypeIds, inputIds.shape);
  if (positionIds) checkIdTensor(op, 'positionIds', positionIds, inputIds.shape);
  if (!positionIds && seq > position.shape[0]!) {
    throw new ShapeError(`${op}: sequences of ${seq} tokens are longer than the ${position.shape[0]} rows of the position table; truncate them`);
  }
  return { batch, seq, hidden };
}

/**
 * Pairs each table with its ids, in the order Hugging Face adds them, uploading the
 * default ids it uses: token types 0, positions 0..seq-1.
 */
function lookupsOf(inputs: EmbeddingInputs, batch: number, seq: number): Lookup[] {
  const { inputIds, tokenTypeIds, positionIds, word, position, tokenType } = inputs;
  const rt = inputIds.runtime;
  const lookups: Lookup[] = [{ name: 'word', table: word, ids: inputIds, temporary: false }];
  if (tokenType) {
    lookups.push({ name: 'tokenType', table: tokenType, ids: tokenTypeIds ?? rt.tensor(new Int32Array(batch * seq), [batch, seq], 'i32'), temporary: !tokenTypeIds });
  }
  const defaultPositions = () => rt.tensor(Int32Array.from({ length: batch * seq }, (_, i) => i % seq), [batch, seq], 'i32');
  lookups.push({ name: 'position', table: position, ids: positionIds ?? defaultPositions(), temporary: !positionIds });
  return lookups;
}

function disposeTemporary(lookups: Lookup[]): void {
  for (const l of lookups) if (l.temporary) l.ids.dispose();
}

/** Rows of `hidden` floats one binding holds, or a LimitError when not even one fits. */
function rowsPerBinding(rt: Runtime, hidden: number, op: string): number {
  const n = Math.floor(rt.maxBindingElements('f32') / hidden);
  if (n < 1) throw new LimitError(`${op}: one embedding row of ${hidden} values is larger than one storage binding`);
  return n;
}

/**
 * out = word[inputIds] + tokenType[tokenTypeIds] + position[positionIds], [batch, seq,
 * hidden], before the LayerNorm. One gather launch per table (per piece of it, for a
 * table larger than one binding): the extra passes over out cost tokens x hidden floats
 * each, small beside the encoder, and keep one kernel for every table size.
 */
export function embeddingForward(inputs: EmbeddingInputs): Tensor {
  const op = 'embeddingForward';
  const { batch, seq, hidden } = shapesOf(op, inputs);
  const rt = inputs.inputIds.runtime;
  const tokens = batch * seq;
  const tableRows = rowsPerBinding(rt, hidden, op);
  const tokensPerLaunch = Math.min(tableRows, Math.floor(maxThreadsPerLaunch(rt, mapWorkgroupSize) / hidden));
  if (tokensPerLaunch < 1) throw new LimitError(`${op}: one embedding row of ${hidden} values needs more threads than one launch has`);
  const out = rt.empty([batch, seq, hidden]); // [batch, seq, hidden]
  const lookups = lookupsOf(inputs, batch, seq);
  lookups.forEach(({ table, ids }, k) => {
    const kernel = embeddingGatherKernel(k > 0);
    const rows = table.shape[0]!;
    for (const [t0, nt] of spans(tokens, tokensPerLaunch)) {
      const bi = rt.bind(ids, t0, nt), bo = rt.bind(out, t0 * hidden, nt * hidden);
      for (const [r0, nr] of spans(rows, tableRows)) {
        rt.launch(kernel, { ids: bi, table: rt.bind(table, r0 * hidden, nr * hidden), out: bo }, {
          count: nt * hidden, hidden, tableRows: rows, rowStart: r0, rowCount: nr,
        });
      }
    }
  });
  disposeTemporary(lookups);
  return out;
}

/*
 * Scatter-add without float atomics. WGSL has none; a compare-and-swap loop on
 * atomic<u32> would work, but the order of additions, and so the low bits, would change
 * from run to run, and repeated ids serialise: in a padded batch the [PAD] row takes
 * thousands of the ~4,096 tokens, each retrying on the same 768 words. We sort instead:
 * a stable counting sort of the token ids on the GPU (O(tokens²) comparisons, 17 M for
 * 4,096 tokens), then one workgroup per table row sums its run of tokens in token order.
 * The row pass writes every row of the gradient, zeros included, so it also replaces the
 * zero fill a scatter would need (30,522 x 768 floats, 94 MB, for BERT's vocabulary), and
 * the result is the same bits on every run, which keeps Fisher scores and tests
 * reproducible.
 */

/** Gradients of the three tables, from dOut [batch, seq, hidden]; deterministic. */
export function embeddingBackward(inputs: EmbeddingInputs, dOut: Tensor, { paddingIdx = {} }: EmbeddingBackwardOptions = {}): EmbeddingGrads {
  const op = 'embeddingBackward';
  const { batch, seq, hidden } = shapesOf(op, inputs);
  dOut.check(op);
  if (dOut.dtype !== 'f32') throw new DTypeError(`${op}: dOut must be f32, got ${dOut}`);
  if (dOut.rank !== 3 || dOut.shape[0] !== batch || dOut.shape[1] !== seq || dOut.shape[2] !== hidden) {
    throw new ShapeError(`${op}: dOut ${shapeString(dOut.shape)} is not [batch, seq, hidden] = [${batch}, ${seq}, ${hidden}]`);
  }
  const rt = dOut.runtime;
  const tokens = batch * seq;
  const sortSize = powerOfTwoWorkgroup(rt.limits.maxComputeInvocationsPerWorkgroup, 256);
  const rowSize = powerOfTwoWorkgroup(rt.limits.maxComputeInvocationsPerWorkgroup, 64);
  const rowsPerLaunch = Math.min(rowsPerBinding(rt, hidden, op), maxThreadsPerLaunch(rt, 1));
  // A chunk of tokens is sorted by one launch and its dOut rows bound whole.
  const tokensPerChunk = Math.min(rowsPerBinding(rt, hidden, op), rt.maxBindingElements('u32'), maxThreadsPerLaunch(rt, sortSize));
  const lookups = lookupsOf(inputs, batch, seq);
  const sortKernel = embeddingSortKernel(sortSize);
  const chunkTokens = Math.min(tokens, tokensPerChunk);
  const sortedIds = rt.empty([Math.max(1, chunkTokens)], 'u32'), order = rt.empty([Math.max(1, chunkTokens)], 'u32');
  const grads = lookups.map(({ name, table, ids }) => {
    const rows = table.shape[0]!;
    const padding = name === 'word' ? paddingIdx.word : name === 'position' ? paddingIdx.position : undefined;
    const dTable = rt.empty(table.shape); // [rows, hidden]
    // An empty batch still runs the row pass once, over no tokens, to write the zeros.
    const chunks = tokens > 0 ? [...spans(tokens, tokensPerChunk)] : [[0, 0] as [number, number]];
    let chunk = 0;
    for (const [t0, nt] of chunks) {
      const bi = rt.bind(ids, t0, nt), bs = rt.bind(sortedIds, 0, nt), bo = rt.bind(order, 0, nt);
      if (nt > 0) rt.launch(sortKernel, { ids: bi, sortedIds: bs, order: bo }, { count: nt, tableRows: rows });
      const rowsKernel = embeddingGradRowsKernel({ size: rowSize, accumulate: chunk++ > 0 });
      const bd = rt.bind(dOut, t0 * hidden, nt * hidden);
      for (const [r0, nr] of spans(rows, rowsPerLaunch)) {
        rt.launch(rowsKernel, { sortedIds: bs, order: bo, dOut: bd, dTable: rt.bind(dTable, r0 * hidden, nr * hidden) }, {
          rows: nr, rowStart: r0, hidden, tokens: nt, paddingRow: padding ?? -1,
        });
      }
    }
    return dTable;
  });
  sortedIds.dispose();
  order.dispose();
  disposeTemporary(lookups);
  const [dWord, ...rest] = grads as [Tensor, ...Tensor[]];
  return inputs.tokenType ? { dWord, dTokenType: rest[0]!, dPosition: rest[1]! } : { dWord, dPosition: rest[0]! };
}
