// What every tokenizer shares: the Encoding, the special-token templates of BERT and
// RoBERTa, and Hugging Face's truncation rules. The loader is in tokenizer.ts.
import { WgpruneError } from '../runtime/errors.js';

/** A tokenizer file that is missing, malformed or unsupported; or text it cannot encode. */
export class TokenizerError extends WgpruneError {}

export type ModelType = 'bert' | 'distilbert' | 'roberta';

/**
 * How a pair is cut to maxLength (special tokens included), as in Hugging Face's fast
 * tokenizers: 'longest_first' shortens the longer text first; 'only_first' / 'only_second'
 * cut that text only and fail if it cannot absorb the excess; 'do_not_truncate' keeps all.
 */
export type Truncation = 'longest_first' | 'only_first' | 'only_second' | 'do_not_truncate';

export interface EncodeOptions {
  maxLength: number;
  truncation?: Truncation;
}

/** One encoded example, unpadded. All arrays have one entry per token. */
export interface Encoding {
  inputIds: number[];
  tokenTypeIds: number[];
  attentionMask: number[];
  /** [start, end) in UTF-16 code units of the original text (textA or textB); [0, 0] for specials. */
  offsets: [number, number][];
  /** 0 for textA's tokens, 1 for textB's, null for special tokens. */
  sequenceIds: (0 | 1 | null)[];
}

/** The pieces of one text, without special tokens. */
export interface Pieces {
  ids: number[];
  offsets: [number, number][];
}

export interface SpecialIds {
  cls: number; // [CLS] or <s>
  sep: number; // [SEP] or </s>
  pad: number;
  unk: number;
  mask: number | undefined;
}

export interface Tokenizer {
  /** Which implementation: the hand-written WordPiece, or @huggingface/tokenizers. */
  readonly implementation: 'wordpiece' | 'huggingface';
  readonly modelType: ModelType;
  readonly vocabSize: number;
  readonly special: SpecialIds;
  /** tokenizer_config.json's model_max_length when given and sane, else 512. */
  readonly modelMaxLength: number;
  /** Tokens of one text, no special tokens, no truncation. */
  tokenize(text: string): Pieces;
  /** Adds the special tokens of this model around one or two tokenized texts (no truncation). */
  build(a: Pieces, b?: Pieces): Encoding;
  /** Special tokens that build() adds: BERT 2 (single) / 3 (pair); RoBERTa 2 / 4. */
  numSpecialTokens(pair: boolean): number;
  encode(textA: string, textB: string | undefined, opts: EncodeOptions): Encoding;
  idToToken(id: number): string | undefined;
}

/** The files of a Hugging Face tokenizer folder, as text (JSON files may also be parsed). */
export interface TokenizerFiles {
  'tokenizer.json'?: string | object;
  'vocab.txt'?: string;
  'tokenizer_config.json'?: string | object;
  'special_tokens_map.json'?: string | object;
  /** RoBERTa's slow-tokenizer files, used when tokenizer.json is absent. */
  'vocab.json'?: string | object;
  'merges.txt'?: string;
}

export interface LoadTokenizerOptions {
  /**
   * For BERT and DistilBERT when both files exist: 'vocab.txt' (default; the hand-written
   * WordPiece, which follows BERT's reference rules) or 'tokenizer.json' (the library).
   */
  prefer?: 'vocab.txt' | 'tokenizer.json';
}

/** Names of the special tokens, from tokenizer_config.json and special_tokens_map.json. */
export interface SpecialNames {
  cls: string;
  sep: string;
  pad: string;
  unk: string;
  mask: string;
}

export function parseJsonFile(file: string, value: string | object | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return value as Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (e) {
    throw new TokenizerError(`${file}: ${(e as Error).message}; give the file's text as written by Hugging Face`);
  }
}

/** A token name from a config value: a string, or an AddedToken object { content }. */
function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

export function specialNames(files: TokenizerFiles, modelType: ModelType): SpecialNames {
  const defaults: SpecialNames = modelType === 'roberta'
    ? { cls: '<s>', sep: '</s>', pad: '<pad>', unk: '<unk>', mask: '<mask>' }
    : { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', unk: '[UNK]', mask: '[MASK]' };
  const config = parseJsonFile('tokenizer_config.json', files['tokenizer_config.json']) ?? {};
  const map = parseJsonFile('special_tokens_map.json', files['special_tokens_map.json']) ?? {};
  const pick = (key: string, fallback: string) => tokenName(map[key]) ?? tokenName(config[key]) ?? fallback;
  // RoBERTa's template uses bos (<s>) and eos/sep (</s>); cls_token is the same <s>.
  return {
    cls: pick('cls_token', modelType === 'roberta' ? pick('bos_token', defaults.cls) : defaults.cls),
    sep: pick('sep_token', modelType === 'roberta' ? pick('eos_token', defaults.sep) : defaults.sep),
    pad: pick('pad_token', defaults.pad),
    unk: pick('unk_token', defaults.unk),
    mask: pick('mask_token', defaults.mask),
  };
}

export function modelMaxLengthOf(files: TokenizerFiles): number {
  const config = parseJsonFile('tokenizer_config.json', files['tokenizer_config.json']) ?? {};
  const n = config['model_max_length'];
  // Hugging Face writes 1e30 for "no limit".
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 1 << 20 ? n : 512;
}

/**
 * Lengths that a pair keeps under Hugging Face's LongestFirst rule (tokenizers' Rust
 * truncate_encodings): the shorter text is kept whole if the longer can take the rest,
 * else both get half of the budget, the odd token going to the longer one (to B on a tie).
 */
export function longestFirstLengths(n1: number, n2: number, budget: number): [number, number] {
  if (n1 + n2 <= budget) return [n1, n2];
  const swap = n1 > n2;
  let short = swap ? n2 : n1, long: number;
  if (short > budget) long = short;
  else long = Math.max(short, budget - short);
  if (short + long > budget) {
    short = Math.floor(budget / 2);
    long = short + (budget % 2);
  }
  return swap ? [long, short] : [short, long];
}

function slice(p: Pieces, n: number): Pieces {
  return n >= p.ids.length ? p : { ids: p.ids.slice(0, n), offsets: p.offsets.slice(0, n) };
}

/** Cuts one or two tokenized texts so that, with `specials` added, they fit maxLength. */
export function truncatePieces(a: Pieces, b: Pieces | undefined, specials: number, opts: EncodeOptions): [Pieces, Pieces | undefined] {
  const strategy = opts.truncation ?? 'longest_first';
  const budget = opts.maxLength - specials;
  const na = a.ids.length, nb = b?.ids.length ?? 0;
  if (strategy === 'do_not_truncate' || na + nb <= budget) return [a, b];
  if (budget < 0) throw new TokenizerError(`maxLength ${opts.maxLength} is smaller than the ${specials} special tokens; give a larger maxLength`);
  if (!b || strategy === 'only_first') {
    const keep = budget - nb;
    if (keep < 0) throw new TokenizerError(`truncation 'only_first' cannot fit the second text (${nb} tokens) in maxLength ${opts.maxLength}; use 'longest_first' or a larger maxLength`);
    return [slice(a, keep), b];
  }
  if (strategy === 'only_second') {
    const keep = budget - na;
    if (keep < 0) throw new TokenizerError(`truncation 'only_second' cannot fit the first text (${na} tokens) in maxLength ${opts.maxLength}; use 'longest_first' or a larger maxLength`);
    return [a, slice(b, keep)];
  }
  const [ka, kb] = longestFirstLengths(na, nb, budget);
  return [slice(a, ka), slice(b, kb)];
}

/**
 * BERT: [CLS] a [SEP] (b [SEP]), token types 0 then 1.
 * RoBERTa: <s> a </s> (</s> b </s>), token types all 0.
 */
export function buildWithSpecials(style: 'bert' | 'roberta', special: SpecialIds, a: Pieces, b?: Pieces): Encoding {
  const e: Encoding = { inputIds: [], tokenTypeIds: [], attentionMask: [], offsets: [], sequenceIds: [] };
  const push = (id: number, type: number, offset: [number, number], seq: 0 | 1 | null) => {
    e.inputIds.push(id);
    e.tokenTypeIds.push(type);
    e.attentionMask.push(1);
    e.offsets.push(offset);
    e.sequenceIds.push(seq);
  };
  const typeB = style === 'bert' ? 1 : 0;
  push(special.cls, 0, [0, 0], null);
  a.ids.forEach((id, i) => push(id, 0, a.offsets[i]!, 0));
  push(special.sep, 0, [0, 0], null);
  if (b) {
    if (style === 'roberta') push(special.sep, 0, [0, 0], null);
    b.ids.forEach((id, i) => push(id, typeB, b.offsets[i]!, 1));
    push(special.sep, typeB, [0, 0], null);
  }
  return e;
}

/** The shared half of both implementations: templates and truncation. */
export abstract class BaseTokenizer implements Tokenizer {
  abstract readonly implementation: 'wordpiece' | 'huggingface';
  abstract readonly vocabSize: number;
  abstract tokenize(text: string): Pieces;
  abstract idToToken(id: number): string | undefined;

  constructor(readonly modelType: ModelType, readonly special: SpecialIds, readonly modelMaxLength: number) {}

  private get style(): 'bert' | 'roberta' {
    return this.modelType === 'roberta' ? 'roberta' : 'bert';
  }

  numSpecialTokens(pair: boolean): number {
    return pair ? (this.style === 'roberta' ? 4 : 3) : 2;
  }

  build(a: Pieces, b?: Pieces): Encoding {
    return buildWithSpecials(this.style, this.special, a, b);
  }

  encode(textA: string, textB: string | undefined, opts: EncodeOptions): Encoding {
    const a = this.tokenize(textA);
    const b = textB === undefined ? undefined : this.tokenize(textB);
    const [ta, tb] = truncatePieces(a, b, this.numSpecialTokens(b !== undefined), opts);
    return this.build(ta, tb);
  }
}

/** Looks up each special token by name; names the missing one. */
export function resolveSpecials(names: SpecialNames, lookup: (token: string) => number | undefined, where: string): SpecialIds {
  const need = (key: keyof SpecialNames) => {
    const id = lookup(names[key]);
    if (id === undefined) throw new TokenizerError(`${where}: the ${key} token '${names[key]}' is not in the vocabulary; name it in special_tokens_map.json or tokenizer_config.json`);
    return id;
  };
  return { cls: need('cls'), sep: need('sep'), pad: need('pad'), unk: need('unk'), mask: lookup(names.mask) };
}
