// SQuAD v1.1 and v2.0: the JSON reader; features as Hugging Face's run_qa.py makes them
// (question first, context second with 'only_second' truncation into overlapping windows,
// offsets to context characters); the n-best span decoding of its postprocess_qa_predictions;
// and the official evaluation scripts' EM and F1.
import type { Encoding, Tokenizer } from '../io/tokenizer.js';
import { DataError, decodeText } from './text.js';

export interface SquadAnswer {
  text: string;
  /** UTF-16 index into the context (the JSON's answer_start counts code points; converted). */
  start: number;
}

export interface SquadExample {
  id: string;
  title: string;
  question: string;
  context: string;
  answers: SquadAnswer[];
  /** v2.0's unanswerable questions (answers empty); always false in v1.1. */
  isImpossible: boolean;
}

export interface SquadData {
  version: string;
  examples: SquadExample[];
}

type Json = Record<string, unknown>;

/** UTF-16 index of each code point index, when the text has characters outside the BMP. */
function codePointToUtf16(text: string): ((cp: number) => number) | null {
  if (!/[\ud800-\udfff]/.test(text)) return null;
  const map: number[] = [];
  for (let i = 0; i < text.length;) {
    map.push(i);
    i += text.codePointAt(i)! > 0xffff ? 2 : 1;
  }
  map.push(text.length);
  return (cp) => map[cp] ?? text.length;
}

export function parseSquadJson(data: string | Uint8Array, file = 'squad.json'): SquadData {
  let root: Json;
  try {
    root = JSON.parse(decodeText(data, file)) as Json;
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(file, undefined, `not JSON (${(e as Error).message}); give the SQuAD train or dev JSON`);
  }
  const bad = (path: string, problem: string) => new DataError(file, undefined, `${path}: ${problem}; is this a SQuAD v1.1 / v2.0 file?`);
  const arr = (v: unknown, path: string) => {
    if (!Array.isArray(v)) throw bad(path, 'expected an array');
    const i = v.findIndex((x) => x === null || typeof x !== 'object' || Array.isArray(x));
    if (i >= 0) throw bad(`${path}[${i}]`, 'expected an object');
    return v as Json[];
  };
  const str = (v: unknown, path: string) => { if (typeof v !== 'string') throw bad(path, 'expected a string'); return v; };
  if (!root || typeof root !== 'object') throw bad('top level', 'expected an object');
  const examples: SquadExample[] = [];
  arr(root['data'], 'data').forEach((article, a) => {
    const title = typeof article['title'] === 'string' ? article['title'] : '';
    arr(article['paragraphs'], `data[${a}].paragraphs`).forEach((para, p) => {
      const context = str(para['context'], `data[${a}].paragraphs[${p}].context`);
      const toUtf16 = codePointToUtf16(context);
      arr(para['qas'], `data[${a}].paragraphs[${p}].qas`).forEach((qa, q) => {
        const path = `data[${a}].paragraphs[${p}].qas[${q}]`;
        const answers = arr(qa['answers'] ?? [], `${path}.answers`).map((ans, k) => {
          const start = ans['answer_start'];
          if (typeof start !== 'number' || !Number.isInteger(start) || start < 0) throw bad(`${path}.answers[${k}].answer_start`, 'expected a non-negative integer');
          return { text: str(ans['text'], `${path}.answers[${k}].text`), start: toUtf16 ? toUtf16(start) : start };
        });
        const isImpossible = qa['is_impossible'] === true;
        if (!isImpossible && answers.length === 0) throw bad(path, 'a question without answers that is not marked is_impossible');
        examples.push({ id: str(qa['id'], `${path}.id`), title, question: str(qa['question'], `${path}.question`), context, answers: isImpossible ? [] : answers, isImpossible });
      });
    });
  });
  if (examples.length === 0) throw new DataError(file, undefined, 'no questions');
  return { version: typeof root['version'] === 'string' ? root['version'] : '', examples };
}

// ------------------------------------------------------------------ features

export interface SquadFeatureOptions {
  maxSeqLength?: number; // 384
  /** Tokens shared by consecutive windows of a long context (run_qa.py's doc_stride): 128. */
  docStride?: number;
  /** Questions are cut to this many tokens: 64. */
  maxQueryLength?: number;
}

export interface SquadFeature extends Encoding {
  /** The example (index into the examples given) this window comes from. */
  exampleIndex: number;
  /** Each token's [start, end) in the context, null for question and special tokens. */
  contextOffsets: ([number, number] | null)[];
  /** Training labels: the answer's first and last token, or 0 ([CLS]) when it is not in this window or there is none. */
  startPosition: number;
  endPosition: number;
}

/**
 * One or more features per example: [CLS] question [SEP] context-window [SEP] (RoBERTa's
 * template for RoBERTa). Windows advance by (room for context − docStride) tokens.
 */
export function squadFeatures(examples: readonly SquadExample[], tokenizer: Tokenizer, opts: SquadFeatureOptions = {}): SquadFeature[] {
  const { maxSeqLength = 384, docStride = 128, maxQueryLength = 64 } = opts;
  const features: SquadFeature[] = [];
  // Each context has several questions: tokenize it once.
  const contexts = new Map<string, ReturnType<Tokenizer['tokenize']>>();
  examples.forEach((ex, exampleIndex) => {
    // run_qa.py strips the question's leading whitespace (some SQuAD questions have a lot).
    const q = tokenizer.tokenize(ex.question.trimStart());
    const question = { ids: q.ids.slice(0, maxQueryLength), offsets: q.offsets.slice(0, maxQueryLength) };
    let context = contexts.get(ex.context);
    if (!context) {
      context = tokenizer.tokenize(ex.context);
      contexts.set(ex.context, context);
    }
    const room = maxSeqLength - question.ids.length - tokenizer.numSpecialTokens(true);
    if (room <= docStride) {
      throw new DataError(`question ${ex.id}`, undefined, `${room} tokens left for the context at maxSeqLength ${maxSeqLength} is not more than docStride ${docStride}; raise maxSeqLength or lower docStride / maxQueryLength`);
    }
    const n = context.ids.length;
    for (let start = 0; ; start += room - docStride) {
      const end = Math.min(start + room, n);
      const window = { ids: context.ids.slice(start, end), offsets: context.offsets.slice(start, end) };
      const enc = tokenizer.build(question, window);
      const contextOffsets = enc.offsets.map((o, i) => (enc.sequenceIds[i] === 1 ? o : null));
      const [startPosition, endPosition] = spanLabels(ex, contextOffsets);
      features.push({ ...enc, exampleIndex, contextOffsets, startPosition, endPosition });
      if (end >= n) break;
    }
  });
  return features;
}

/** run_qa.py's prepare_train_features: the first answer's tokens if the window holds it whole. */
function spanLabels(ex: SquadExample, offsets: ([number, number] | null)[]): [number, number] {
  const answer = ex.answers[0];
  if (!answer) return [0, 0];
  const startChar = answer.start, endChar = answer.start + answer.text.length;
  let first = offsets.findIndex((o) => o !== null);
  let last = offsets.length - 1;
  while (last >= 0 && offsets[last] === null) last--;
  if (first < 0 || offsets[first]![0] > startChar || offsets[last]![1] < endChar) return [0, 0];
  while (first < offsets.length && offsets[first] !== null && offsets[first]![0] <= startChar) first++;
  while (last >= 0 && offsets[last] !== null && offsets[last]![1] >= endChar) last--;
  return [first - 1, last + 1];
}

// ------------------------------------------------------------------ predictions

export interface SquadLogits {
  start: ArrayLike<number>; // [seq] of the feature (padding beyond its tokens is ignored)
  end: ArrayLike<number>;
}

export interface SquadPostOptions {
  nBest?: number; // 20
  maxAnswerLength?: number; // 30 tokens
  /** SQuAD v2.0: answer '' when the null score beats the best span by more than nullThreshold. */
  version2?: boolean;
  nullThreshold?: number; // 0.0
}

export interface SquadPrediction {
  text: string;
  /** Best span's start + end logit (−Infinity when no valid span). */
  bestSpanScore: number;
  /** Smallest [CLS] start + end logit over the example's features. */
  nullScore: number;
}

/** Indices of the k largest of x[0..length), largest first (ties: lower index first). */
function topIndices(x: ArrayLike<number>, length: number, k: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < length; i++) {
    const v = x[i]!;
    if (top.length === k && v <= x[top[k - 1]!]!) continue;
    if (top.length < k) top.push(i);
    let j = top.length - 1;
    while (j > 0 && x[top[j - 1]!]! < v) { top[j] = top[j - 1]!; j--; }
    top[j] = i;
  }
  return top;
}

/**
 * postprocess_qa_predictions of run_qa.py: for each feature, the nBest highest start and
 * end logits; spans inside the context, end ≥ start, at most maxAnswerLength tokens,
 * scored start + end; the best over the example's features. v2: null if the smallest [CLS]
 * score exceeds the best span's by more than nullThreshold.
 */
export function squadPredictions(examples: readonly SquadExample[], features: readonly SquadFeature[], logits: readonly SquadLogits[], opts: SquadPostOptions = {}): Map<string, SquadPrediction> {
  const { nBest = 20, maxAnswerLength = 30, version2 = false, nullThreshold = 0 } = opts;
  if (logits.length !== features.length) throw new DataError('squad predictions', undefined, `${logits.length} logits for ${features.length} features`);
  const best = examples.map(() => ({ score: -Infinity, span: null as [number, number] | null, nullScore: Infinity }));
  features.forEach((f, k) => {
    const { start, end } = logits[k]!;
    const len = f.inputIds.length;
    if (start.length < len || end.length < len) throw new DataError('squad predictions', undefined, `feature ${k}: ${start.length} start / ${end.length} end logits for ${len} tokens`);
    const b = best[f.exampleIndex]!;
    b.nullScore = Math.min(b.nullScore, start[0]! + end[0]!);
    for (const s of topIndices(start, len, nBest)) {
      const so = f.contextOffsets[s];
      if (!so) continue;
      for (const e of topIndices(end, len, nBest)) {
        const eo = f.contextOffsets[e];
        if (!eo || e < s || e - s + 1 > maxAnswerLength) continue;
        const score = start[s]! + end[e]!;
        if (score > b.score) { b.score = score; b.span = [so[0], eo[1]]; }
      }
    }
  });
  const out = new Map<string, SquadPrediction>();
  examples.forEach((ex, i) => {
    const b = best[i]!;
    let text = b.span ? ex.context.slice(b.span[0], b.span[1]) : '';
    if (version2 && (!b.span || b.nullScore - b.score > nullThreshold)) text = '';
    out.set(ex.id, { text, bestSpanScore: b.score, nullScore: b.nullScore });
  });
  return out;
}

// ------------------------------------------------------------------ official metrics

const ASCII_PUNCT = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
// Python's \b with Unicode strings: a word character is a letter, digit or '_'.
const ARTICLES = /(?<![\p{L}\p{N}_])(a|an|the)(?![\p{L}\p{N}_])/gu;

/** The official normalize_answer: lower case, no (ASCII) punctuation, no a/an/the, single spaces. */
export function normalizeAnswer(s: string): string {
  const lower = s.toLowerCase();
  let noPunct = '';
  for (const c of lower) if (!ASCII_PUNCT.has(c)) noPunct += c;
  return noPunct.replace(ARTICLES, ' ').split(/\s+/u).filter(Boolean).join(' ');
}

const tokens = (s: string) => normalizeAnswer(s).split(' ').filter(Boolean);

export function exactMatch(prediction: string, gold: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(gold) ? 1 : 0;
}

/**
 * Token F1. v1.1 script: 0 when nothing is shared. v2.0 script: when either side normalizes
 * to nothing, 1 if both do, else 0.
 */
export function tokenF1(prediction: string, gold: string, version2 = false): number {
  const p = tokens(prediction), g = tokens(gold);
  if (version2 && (p.length === 0 || g.length === 0)) return p.length === g.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) { same++; counts.set(t, c - 1); }
  }
  if (same === 0) return 0;
  const precision = same / p.length, recall = same / g.length;
  return (2 * precision * recall) / (precision + recall);
}

export interface SquadScores {
  exactMatch: number; // percent
  f1: number; // percent
  total: number;
  /** v2.0 only: the answerable and unanswerable questions apart. */
  hasAns?: { exactMatch: number; f1: number; total: number };
  noAns?: { exactMatch: number; f1: number; total: number };
}

/**
 * The official evaluate-v1.1.py / evaluate-v2.0.py scores: the max over gold answers, in
 * percent. A question without a prediction scores 0. v2: an unanswerable question's gold
 * answer is '' (so only an empty prediction scores).
 */
export function squadMetrics(examples: readonly SquadExample[], predictions: ReadonlyMap<string, string | SquadPrediction> | Record<string, string>, version2 = false): SquadScores {
  const get = (id: string): string | undefined => {
    const p = predictions instanceof Map ? predictions.get(id) : (predictions as Record<string, string>)[id];
    return typeof p === 'string' || p === undefined ? p : p.text;
  };
  const sums = { all: [0, 0, 0], has: [0, 0, 0], no: [0, 0, 0] };
  for (const ex of examples) {
    const pred = get(ex.id);
    let golds = ex.answers.map((a) => a.text);
    if (version2) {
      golds = golds.filter((g) => normalizeAnswer(g));
      if (golds.length === 0) golds = [''];
    }
    let em = 0, f1 = 0;
    if (pred !== undefined) {
      for (const g of golds) {
        em = Math.max(em, exactMatch(pred, g));
        f1 = Math.max(f1, tokenF1(pred, g, version2));
      }
    }
    for (const key of ['all', ex.answers.length > 0 ? 'has' : 'no'] as const) {
      sums[key][0]! += em; sums[key][1]! += f1; sums[key][2]!++;
    }
  }
  const score = ([em, f1, n]: number[]) => ({ exactMatch: n ? (100 * em!) / n! : 0, f1: n ? (100 * f1!) / n! : 0, total: n! });
  const out: SquadScores = score(sums.all);
  if (version2) { out.hasAns = score(sums.has); out.noAns = score(sums.no); }
  return out;
}
