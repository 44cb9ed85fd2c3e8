import * as assert from 'uvu/assert';
import { checkIds, embeddingBackward, embeddingForward, type EmbeddingGrads, type EmbeddingInputs } from '../../src/ops/embedding.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { assertClose, thrown } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { checkGradient, dot } from '../helpers/gradcheck.js';
import { Random, seed } from '../helpers/random.js';
import { f32 } from '../reference/elementwise.js';
import { embeddingBackwardRef, embeddingRef, type EmbeddingData, type TableGradRef } from '../reference/embedding.js';

const rand = new Random();

// Forward: two float32 additions of exact table values, each rounding by at most 2^-24 of
// a partial sum no larger than Σ|terms|: 1.2e-7 of Σ|terms|.
const forwardRtol = 1.2e-7;
// Backward: a row hit by n tokens is a float32 sum of n terms, off by at most
// (n - 1) 2^-24 Σ|terms| from float64. The kernel adds in token order, so without split
// token chunks it must also match a float32 emulation of that order bit for bit.
const backwardRtol = (counts: Int32Array) => Math.max(1, ...counts) * 2 ** -24;

interface Case {
  batch: number;
  seq: number;
  hidden: number;
  vocab: number;
  positions: number;
  /** rows of the token type table; none for DistilBERT */
  types?: number;
  /** token type table without ids: Hugging Face's zeros */
  defaultTypes?: boolean;
  /** RoBERTa-style explicit positions, with the last two tokens of a row padding */
  roberta?: boolean;
  /** ids drawn from [0, distinct): rows repeat and most stay unused */
  distinct?: number;
}

function makeData(c: Case): EmbeddingData {
  const tokens = c.batch * c.seq;
  const d: EmbeddingData = {
    batch: c.batch, seq: c.seq, hidden: c.hidden,
    inputIds: rand.ints(tokens, 0, c.distinct ?? c.vocab),
    word: f32(rand.uniform(c.vocab * c.hidden)), position: f32(rand.uniform(c.positions * c.hidden)),
  };
  if (c.types) {
    d.tokenType = f32(rand.uniform(c.types * c.hidden));
    if (!c.defaultTypes) d.tokenTypeIds = rand.ints(tokens, 0, c.types);
  }
  if (c.roberta) {
    // Padding token 1 at padding index 1; real tokens count from 2 (create_position_ids_from_input_ids).
    const padded = (t: number) => t % c.seq >= c.seq - 2;
    d.inputIds = Int32Array.from(d.inputIds as Int32Array, (id, t) => (padded(t) ? 1 : id));
    d.positionIds = Int32Array.from({ length: tokens }, (_, t) => (padded(t) ? 1 : 2 + (t % c.seq)));
  }
  return d;
}

function upload(rt: Runtime, d: EmbeddingData): EmbeddingInputs {
  const ids = (v: ArrayLike<number>) => rt.tensor(v, [d.batch, d.seq], 'i32');
  const table = (v: ArrayLike<number>) => rt.tensor(v, [v.length / d.hidden, d.hidden]);
  return {
    inputIds: ids(d.inputIds), word: table(d.word), position: table(d.position),
    ...(d.tokenTypeIds ? { tokenTypeIds: ids(d.tokenTypeIds) } : {}),
    ...(d.positionIds ? { positionIds: ids(d.positionIds) } : {}),
    ...(d.tokenType ? { tokenType: table(d.tokenType) } : {}),
  };
}

function assertBits(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) throw new Error(`${what}: element ${i} is ${actual[i]}, float32 in token order gives ${expected[i]} (seed ${seed})`);
  }
}

async function checkGrads(grads: EmbeddingGrads, ref: ReturnType<typeof embeddingBackwardRef>, exact?: ReturnType<typeof embeddingBackwardRef>): Promise<void> {
  const pairs: [string, EmbeddingGrads[keyof EmbeddingGrads], TableGradRef | undefined, TableGradRef | undefined][] = [
    ['dWord', grads.dWord, ref.word, exact?.word], ['dPosition', grads.dPosition, ref.position, exact?.position],
    ['dTokenType', grads.dTokenType, ref.tokenType, exact?.tokenType],
  ];
  for (const [name, got, r, e] of pairs) {
    assert.is(!!got, !!r, `${name} present`);
    if (!got || !r) continue;
    const values = await got.read();
    assertClose(values, r.grad, name, { rtol: backwardRtol(r.counts), scales: r.scale });
    if (e) assertBits(values, e.grad, name);
  }
}

async function checkCase(rt: Runtime, c: Case, { exact = true } = {}): Promise<void> {
  const d = makeData(c);
  const inputs = upload(rt, d);
  const out = embeddingForward(inputs);
  assert.equal(out.shape, [c.batch, c.seq, c.hidden]);
  const ref = embeddingRef(d);
  assertClose(await out.read(), ref.out, 'out', { rtol: forwardRtol, scales: ref.scale });

  const dOut = f32(rand.uniform(c.batch * c.seq * c.hidden));
  const paddingIdx = c.roberta ? { word: 1, position: 1 } : {};
  const grads = embeddingBackward(inputs, rt.tensor(dOut, [c.batch, c.seq, c.hidden]), { paddingIdx });
  await checkGrads(grads, embeddingBackwardRef(d, dOut, { paddingIdx }), exact ? embeddingBackwardRef(d, dOut, { paddingIdx, float32: true }) : undefined);
}

const t = gpuSuite('embedding');

const cases: [string, Case][] = [
  ['one token, one row each', { batch: 1, seq: 1, hidden: 1, vocab: 1, positions: 1, types: 1 }],
  ['BERT, 2 x 7 tokens, hidden 33', { batch: 2, seq: 7, hidden: 33, vocab: 50, positions: 16, types: 2 }],
  ['DistilBERT (no token types), 3 x 33 tokens, hidden 7', { batch: 3, seq: 33, hidden: 7, vocab: 257, positions: 40 }],
  ['RoBERTa positions, padding rows kept at 0', { batch: 2, seq: 9, hidden: 33, vocab: 30, positions: 12, types: 1, roberta: true }],
  ['token types default to 0', { batch: 2, seq: 5, hidden: 16, vocab: 20, positions: 5, types: 2, defaultTypes: true }],
  ['hidden 257', { batch: 1, seq: 3, hidden: 257, vocab: 5, positions: 3, types: 2 }],
  ['257 tokens on 3 rows of 40: repeats, and unused rows', { batch: 1, seq: 257, hidden: 8, vocab: 40, positions: 257, types: 2, distinct: 3 }],
];
for (const [name, c] of cases) t(`forward and backward: ${name}`, ({ rt }) => checkCase(rt, c));

t('rows no token uses get exactly 0, and repeated rows the same bits on every run', async ({ rt }) => {
  const d = makeData({ batch: 3, seq: 33, hidden: 5, vocab: 17, positions: 33, distinct: 4 });
  const inputs = upload(rt, d);
  const dOut = rt.tensor(f32(rand.uniform(3 * 33 * 5)), [3, 33, 5]);
  const first = await embeddingBackward(inputs, dOut).dWord.read();
  const second = await embeddingBackward(inputs, dOut).dWord.read();
  assertBits(second, first, 'second run');
  assert.ok(first.slice(4 * 5).every((v) => Object.is(v, 0)), 'unused rows are +0');
  assert.ok(first.slice(0, 4 * 5).some((v) => v !== 0), 'used rows are not');
});

t('out-of-range ids on the device read the nearest row, never past the table', async ({ rt }) => {
  const c: Case = { batch: 2, seq: 4, hidden: 6, vocab: 5, positions: 4, types: 2 };
  const d = makeData(c);
  d.inputIds = Int32Array.from([-1, 5, 2 ** 31 - 1, -(2 ** 31), 0, 4, 7, -100]);
  d.tokenTypeIds = Int32Array.from([0, 1, 2, -1, 9, 1, 0, 1]);
  const inputs = upload(rt, d);
  const ref = embeddingRef(d);
  assertClose(await embeddingForward(inputs).read(), ref.out, 'out', { rtol: forwardRtol, scales: ref.scale });
  const dOut = f32(rand.uniform(8 * 6));
  const grads = embeddingBackward(inputs, rt.tensor(dOut, [2, 4, 6]));
  await checkGrads(grads, embeddingBackwardRef(d, dOut), embeddingBackwardRef(d, dOut, { float32: true }));
});

t('checkIds names the first bad id and where it is', () => {
  checkIds(Int32Array.from([0, 3, 29]), 30, 'inputIds');
  assert.match(thrown(() => checkIds(Int32Array.from([0, 3, 30, -1]), 30, 'inputIds')), 'inputIds: id 30 at 2 is outside [0, 30)');
  assert.match(thrown(() => checkIds(Int32Array.from([0, 1, 2, 3, -1, 5]), 30, 'inputIds', 3)), 'inputIds: id -1 at [1, 1] is outside [0, 30)');
});

t('misuse is refused with the tensors named', ({ rt }) => {
  const ids = rt.tensor([0, 1, 2, 0, 1, 2], [2, 3], 'i32');
  const word = rt.tensor(new Float32Array(12), [3, 4]), position = rt.tensor(new Float32Array(12), [3, 4]);
  const tokenType = rt.tensor(new Float32Array(8), [2, 4]);
  const msg = (inputs: Partial<EmbeddingInputs>) => thrown(() => embeddingForward({ inputIds: ids, word, position, ...inputs }));
  assert.match(msg({ inputIds: rt.tensor(new Float32Array(6), [2, 3]) }), 'embeddingForward: inputIds must be i32, got tensor[2, 3] f32');
  assert.match(msg({ inputIds: rt.tensor(new Int32Array(6), [6], 'i32') }), 'embeddingForward: inputIds [6] is not [batch, seq]');
  assert.match(msg({ tokenType, tokenTypeIds: rt.tensor(new Int32Array(8), [2, 4], 'i32') }), 'embeddingForward: tokenTypeIds [2, 4] is not [batch, seq] = [2, 3] like inputIds');
  assert.match(msg({ tokenTypeIds: ids }), 'embeddingForward: tokenTypeIds were given but no tokenType table');
  assert.match(msg({ positionIds: rt.tensor(new Float32Array(6), [2, 3]) }), 'embeddingForward: positionIds must be i32');
  assert.match(msg({ position: rt.tensor(new Float32Array(15), [3, 5]) }), 'embeddingForward: position [3, 5] is not [rows >= 1, 4]');
  assert.match(msg({ word: rt.tensor(new Int32Array(12), [3, 4], 'i32') }), 'embeddingForward: word must be f32');
  assert.match(msg({ position: rt.tensor(new Float32Array(8), [2, 4]) }), 'embeddingForward: sequences of 3 tokens are longer than the 2 rows of the position table');
  const badGrad = rt.tensor(new Float32Array(24), [2, 4, 3]);
  const before = rt.stats().tensors;
  assert.match(thrown(() => embeddingBackward({ inputIds: ids, word, position, tokenType }, badGrad)),
    'embeddingBackward: dOut [2, 4, 3] is not [batch, seq, hidden] = [2, 3, 4]');
  assert.is(rt.stats().tensors, before, 'no tensor left behind by a refused call');
});

t('only the outputs outlive a call: the default ids and sort scratch are freed', async ({ rt }) => {
  const inputs = upload(rt, makeData({ batch: 2, seq: 3, hidden: 4, vocab: 5, positions: 3, types: 2, defaultTypes: true }));
  const before = rt.stats().tensors;
  const out = embeddingForward(inputs);
  assert.is(rt.stats().tensors, before + 1, 'forward');
  const grads = embeddingBackward(inputs, out);
  assert.is(rt.stats().tensors, before + 4, 'backward');
  await rt.sync();
  for (const g of [out, grads.dWord, grads.dPosition, grads.dTokenType!]) g.dispose();
});

t.run();

// 4 KiB bindings hold 40 to 42 rows of 24 floats (less the offset alignment): the 100-row
// word table is bound in three pieces, the 45 tokens go in two chunks (the second adds to
// the first's gradient), and the row pass takes 9 rows a launch. The 100-row token type
// table (no model has one) splits a table that the gather adds rather than writes.
const split = gpuSuite('embedding split', { limits: { maxStorageBufferBindingSize: 4096, maxComputeWorkgroupsPerDimension: 3 } });
split('tables and tokens split over bindings and launches', ({ rt }) =>
  checkCase(rt, { batch: 5, seq: 9, hidden: 24, vocab: 100, positions: 12, types: 100 }, { exact: false }));
split('repeated ids across token chunks', ({ rt }) =>
  checkCase(rt, { batch: 5, seq: 9, hidden: 24, vocab: 100, positions: 9, distinct: 4, roberta: true }, { exact: false }));
split.run();

const ref = gpuSuite('embedding reference');
ref('float64 backward agrees with central differences, clamped ids included', () => {
  const d = makeData({ batch: 2, seq: 3, hidden: 2, vocab: 4, positions: 3, types: 2 });
  d.inputIds = Int32Array.from([0, 2, 2, 9, -1, 2]);
  const w = rand.uniform(2 * 3 * 2);
  const g = embeddingBackwardRef(d, w);
  checkGradient((p) => dot(w, embeddingRef({ ...d, word: p }).out), d.word, g.word.grad, 'word');
  checkGradient((p) => dot(w, embeddingRef({ ...d, position: p }).out), d.position, g.position.grad, 'position');
  checkGradient((p) => dot(w, embeddingRef({ ...d, tokenType: p }).out), d.tokenType!, g.tokenType!.grad, 'tokenType');
});
ref.run();
