// BERT's WordPiece tokenizer, written from the reference rules (Google's BERT
// tokenization.py, which Hugging Face's BertTokenizer follows): BasicTokenizer, then greedy
// longest-match-first WordPiece. Every normalized character keeps the span of the original
// character it came from, so each piece has offsets into the original text.
import {
  BaseTokenizer, TokenizerError, modelMaxLengthOf, parseJsonFile, resolveSpecials, specialNames,
  type ModelType, type Pieces, type TokenizerFiles,
} from './tokenizer-base.js';

export interface BasicOptions {
  /** Lower-case (uncased models). */
  lowercase: boolean;
  /** NFD, then drop non-spacing marks (Mn). BERT: follows lowercase unless set. */
  stripAccents: boolean;
  /** CJK ideographs become words of their own. */
  chineseChars: boolean;
}

/** A word after basic tokenization, normalized, with each code point's original span. */
export interface Word {
  /** Normalized code points. */
  chars: string[];
  /** UTF-16 [start, end) in the original text of the character each code point came from. */
  starts: number[];
  ends: number[];
}

const PUNCT = /\p{P}/u;
const CONTROL = /\p{C}/u; // Cc, Cf, Cs, Co, Cn: tokenization.py's _is_control (category starts with C)
const SPACE_SEP = /\p{Zs}/u;
const MARK_NONSPACING = /\p{Mn}/u;

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || SPACE_SEP.test(ch);
}

function isControl(ch: string): boolean {
  return ch !== '\t' && ch !== '\n' && ch !== '\r' && CONTROL.test(ch);
}

/** ASCII non-letters/digits count as punctuation (e.g. ^ $ `), as BERT does, plus Unicode P*. */
export function isPunctuation(cp: number): boolean {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return PUNCT.test(String.fromCodePoint(cp));
}

/** The CJK Unified Ideographs blocks of tokenization.py's _is_chinese_char (not Hangul, kana). */
export function isChineseChar(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

/**
 * BERT's BasicTokenizer: drop NUL, U+FFFD and control characters; split on whitespace; CJK
 * ideographs alone; lower-case and strip accents; split off each punctuation character.
 * Lower-casing is per character (so a word-final Σ becomes σ, not ς as Python's lower()).
 */
export function basicTokenize(text: string, o: BasicOptions): Word[] {
  const words: Word[] = [];
  let cur: Word = { chars: [], starts: [], ends: [] };
  const flush = () => {
    if (cur.chars.length) words.push(cur);
    cur = { chars: [], starts: [], ends: [] };
  };
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    const start = i;
    i += ch.length;
    if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
    if (isWhitespace(ch)) { flush(); continue; }
    if (o.chineseChars && isChineseChar(cp)) {
      flush();
      words.push({ chars: [ch], starts: [start], ends: [i] });
      continue;
    }
    let norm = o.lowercase ? ch.toLowerCase() : ch;
    if (o.stripAccents) norm = norm.normalize('NFD');
    for (const c of norm) {
      if (o.stripAccents && MARK_NONSPACING.test(c)) continue;
      if (isPunctuation(c.codePointAt(0)!)) {
        flush();
        words.push({ chars: [c], starts: [start], ends: [i] });
      } else {
        cur.chars.push(c);
        cur.starts.push(start);
        cur.ends.push(i);
      }
    }
  }
  flush();
  return words;
}

/** One word's pieces: ids and, for each, how many of the word's code points it covers. */
interface WordPieces {
  ids: number[];
  lengths: number[];
}

/** Greedy longest-match-first WordPiece of one normalized word; [UNK] if any part fails. */
export function wordPiece(chars: string[], vocab: Map<string, number>, unk: number, maxChars = 100): WordPieces {
  if (chars.length > maxChars) return { ids: [unk], lengths: [chars.length] };
  const ids: number[] = [], lengths: number[] = [];
  for (let start = 0; start < chars.length;) {
    let end = chars.length, id: number | undefined;
    for (; end > start; end--) {
      const sub = chars.slice(start, end).join('');
      id = vocab.get(start > 0 ? '##' + sub : sub);
      if (id !== undefined) break;
    }
    if (id === undefined) return { ids: [unk], lengths: [chars.length] };
    ids.push(id);
    lengths.push(end - start);
    start = end;
  }
  return { ids, lengths };
}

/** vocab.txt: one token a line, the id is the line number. */
export function parseVocabTxt(text: string): Map<string, number> {
  const vocab = new Map<string, number>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, i) => vocab.set(line.endsWith('\r') ? line.slice(0, -1) : line, i));
  if (vocab.size === 0) throw new TokenizerError('vocab.txt is empty; give the vocab.txt of the model');
  return vocab;
}

/** Offsets of a word's pieces from the spans of its code points. */
export function pieceOffsets(word: Word, lengths: number[], out: [number, number][]): void {
  let pos = 0;
  for (const n of lengths) {
    out.push([word.starts[pos]!, word.ends[pos + n - 1]!]);
    pos += n;
  }
}

export class WordPieceTokenizer extends BaseTokenizer {
  readonly implementation = 'wordpiece' as const;
  readonly vocabSize: number;
  private readonly idToTokens: string[];
  // SQuAD repeats each context for several questions: words recur, their pieces need not.
  private readonly cache = new Map<string, WordPieces>();

  constructor(
    private readonly vocab: Map<string, number>,
    readonly basic: BasicOptions,
    modelType: ModelType,
    special: ReturnType<typeof resolveSpecials>,
    modelMaxLength: number,
    private readonly maxCharsPerWord = 100,
  ) {
    super(modelType, special, modelMaxLength);
    this.idToTokens = [];
    for (const [token, id] of vocab) this.idToTokens[id] = token;
    this.vocabSize = this.idToTokens.length;
  }

  tokenize(text: string): Pieces {
    const ids: number[] = [], offsets: [number, number][] = [];
    for (const word of basicTokenize(text, this.basic)) {
      const key = word.chars.join('');
      let wp = this.cache.get(key);
      if (!wp) {
        wp = wordPiece(word.chars, this.vocab, this.special.unk, this.maxCharsPerWord);
        if (this.cache.size > 200_000) this.cache.clear();
        this.cache.set(key, wp);
      }
      ids.push(...wp.ids);
      pieceOffsets(word, wp.lengths, offsets);
    }
    return { ids, offsets };
  }

  idToToken(id: number): string | undefined {
    return this.idToTokens[id];
  }
}

/** From vocab.txt, with do_lower_case / strip_accents / tokenize_chinese_chars from tokenizer_config.json. */
export function wordPieceFromVocabTxt(files: TokenizerFiles, modelType: ModelType): WordPieceTokenizer {
  const vocab = parseVocabTxt(files['vocab.txt'] ?? '');
  const config = parseJsonFile('tokenizer_config.json', files['tokenizer_config.json']) ?? {};
  // Hugging Face's BertTokenizer defaults to do_lower_case true; an uncased model's
  // tokenizer_config.json says so anyway, a cased one says false.
  const lowercase = config['do_lower_case'] !== false;
  const strip = config['strip_accents'];
  const basic: BasicOptions = {
    lowercase,
    stripAccents: typeof strip === 'boolean' ? strip : lowercase,
    chineseChars: config['tokenize_chinese_chars'] !== false,
  };
  const special = resolveSpecials(specialNames(files, modelType), (t) => vocab.get(t), 'vocab.txt');
  return new WordPieceTokenizer(vocab, basic, modelType, special, modelMaxLengthOf(files));
}
