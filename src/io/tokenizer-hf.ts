// tokenizer.json through @huggingface/tokenizers (pure JS, Node and browser). The library
// gives token ids and token strings but neither offsets nor truncation, so: truncation and
// the special-token templates are ours (tokenizer-base.ts), and offsets are recovered:
// - WordPiece: the library's pieces are aligned with BERT's basic tokenization of the
//   original text (tokenizer-wordpiece.ts), which knows each character's span; a piece
//   that does not line up is an error, never a silently wrong offset.
// - byte-level BPE (RoBERTa): the pieces' bytes concatenate to the text's UTF-8 bytes.
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import {
  BaseTokenizer, TokenizerError, modelMaxLengthOf, parseJsonFile, resolveSpecials, specialNames,
  type ModelType, type Pieces, type SpecialIds, type TokenizerFiles,
} from './tokenizer-base.js';
import { basicTokenize, type BasicOptions } from './tokenizer-wordpiece.js';

type Json = Record<string, unknown>;

abstract class HfBacked extends BaseTokenizer {
  readonly implementation = 'huggingface' as const;
  readonly vocabSize: number;

  constructor(protected readonly hf: HfTokenizer, modelType: ModelType, special: SpecialIds, modelMaxLength: number) {
    super(modelType, special, modelMaxLength);
    // A damaged tokenizer.json can give ids the model has no row for: refuse them here.
    let max = -1;
    for (const [token, id] of library('reading the vocabulary', () => hf.get_vocab(true))) {
      if (!Number.isInteger(id) || id < 0) throw new TokenizerError(`tokenizer.json: token ${JSON.stringify(token).slice(0, 40)} has id ${id}; ids are whole numbers from 0`);
      max = Math.max(max, id);
    }
    this.vocabSize = max + 1;
    for (const [key, id] of Object.entries(special)) {
      if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id < this.vocabSize)) {
        throw new TokenizerError(`tokenizer.json: the ${key} token has id ${id}, outside the vocabulary of ${this.vocabSize}`);
      }
    }
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  protected pieces(text: string): { ids: number[]; tokens: string[] } {
    const e = library(`encoding ${JSON.stringify(text.slice(0, 40))}`, () => this.hf.encode(text, { add_special_tokens: false }));
    const bad = e.ids.findIndex((id) => !(Number.isInteger(id) && id >= 0 && id < this.vocabSize));
    if (bad >= 0 || e.tokens.length !== e.ids.length) {
      throw new TokenizerError(`tokenizer.json: encoding ${JSON.stringify(text.slice(0, 40))} gave ${bad >= 0 ? `id ${e.ids[bad]}, outside its vocabulary of ${this.vocabSize}` : `${e.ids.length} ids for ${e.tokens.length} tokens`}; the file may be damaged`);
    }
    return { ids: e.ids, tokens: e.tokens };
  }
}

/**
 * A call into @huggingface/tokenizers, whose errors on a damaged tokenizer.json are plain
 * TypeErrors and the like: as a TokenizerError that says which file.
 */
function library<T>(doing: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TokenizerError) throw e;
    throw new TokenizerError(`tokenizer.json: @huggingface/tokenizers failed ${doing}: ${(e as Error).message}; the file may be damaged`);
  }
}

export class HfWordPieceTokenizer extends HfBacked {
  constructor(hf: HfTokenizer, modelType: ModelType, special: SpecialIds, modelMaxLength: number,
    private readonly basic: BasicOptions, private readonly unkToken: string, private readonly prefix: string) {
    super(hf, modelType, special, modelMaxLength);
  }

  tokenize(text: string): Pieces {
    const { ids, tokens } = this.pieces(text);
    const offsets: [number, number][] = [];
    let t = 0;
    const mismatch = (why: string) => new TokenizerError(
      `tokenizer.json (via @huggingface/tokenizers) and BERT's basic tokenization disagree on ${JSON.stringify(text.slice(0, 80))}: ${why}; ` +
      `load the tokenizer from vocab.txt instead (prefer: 'vocab.txt')`);
    for (const word of basicTokenize(text, this.basic)) {
      const norm = word.chars;
      for (let pos = 0; pos < norm.length;) {
        const token = tokens[t];
        if (token === undefined) throw mismatch(`no piece left for '${norm.join('')}'`);
        if (token === this.unkToken) {
          // [UNK] stands for the rest of the word (WordPiece gives a whole word up).
          offsets.push([word.starts[pos]!, word.ends[norm.length - 1]!]);
          pos = norm.length;
        } else {
          const piece = Array.from(pos > 0 && token.startsWith(this.prefix) ? token.slice(this.prefix.length) : token);
          if (!piece.length || piece.some((c, k) => norm[pos + k] !== c)) throw mismatch(`piece '${token}' vs word '${norm.join('')}'`);
          offsets.push([word.starts[pos]!, word.ends[pos + piece.length - 1]!]);
          pos += piece.length;
        }
        t++;
      }
    }
    if (t !== tokens.length) throw mismatch(`pieces left over from '${tokens[t]}' on`);
    return { ids, offsets };
  }
}

/** GPT-2's byte-to-unicode table, reversed: the byte each character of a byte-level token stands for. */
const UNICODE_TO_BYTE: Map<string, number> = (() => {
  const bytes: number[] = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const chars = bytes.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bytes.includes(b)) { bytes.push(b); chars.push(256 + n++); }
  return new Map(bytes.map((b, i) => [String.fromCharCode(chars[i]!), b]));
})();

export class HfByteLevelTokenizer extends HfBacked {
  constructor(hf: HfTokenizer, modelType: ModelType, special: SpecialIds, modelMaxLength: number,
    private readonly addPrefixSpace: boolean, private readonly trimOffsets: boolean) {
    super(hf, modelType, special, modelMaxLength);
  }

  tokenize(text: string): Pieces {
    const { ids, tokens } = this.pieces(text);
    // Each UTF-8 byte of the text -> the UTF-16 span of its character.
    const src = this.addPrefixSpace && !text.startsWith(' ') ? ' ' + text : text;
    const shift = src.length - text.length;
    const bytes: number[] = [], charStart: number[] = [], charEnd: number[] = [];
    const encoder = new TextEncoder();
    for (let i = 0; i < src.length;) {
      const ch = String.fromCodePoint(src.codePointAt(i)!);
      for (const b of encoder.encode(ch)) {
        bytes.push(b);
        charStart.push(Math.max(0, i - shift));
        charEnd.push(Math.max(0, i + ch.length - shift));
      }
      i += ch.length;
    }
    const offsets: [number, number][] = [];
    let pos = 0;
    for (const token of tokens) {
      const tb: number[] = [];
      for (const c of token) {
        const b = UNICODE_TO_BYTE.get(c);
        if (b === undefined) throw new TokenizerError(`tokenizer.json: piece '${token}' is not byte-level; only byte-level BPE (RoBERTa, GPT-2) is supported`);
        tb.push(b);
      }
      // An added token with lstrip (RoBERTa's <mask>) swallows the spaces before it.
      while (pos < bytes.length && bytes[pos] !== tb[0] && bytes[pos] === 0x20) pos++;
      if (tb.some((b, k) => bytes[pos + k] !== b)) {
        throw new TokenizerError(`tokenizer.json: the pieces of ${JSON.stringify(text.slice(0, 80))} do not spell the text (at byte ${pos}, '${token}'); a normalizer in tokenizer.json is not supported`);
      }
      let s = pos;
      const e = pos + tb.length;
      if (this.trimOffsets) while (s < e - 1 && bytes[s] === 0x20) s++; // 'Ġword' spans 'word'
      offsets.push([charStart[s]!, charEnd[e - 1]!]);
      pos = e;
    }
    return { ids, offsets };
  }
}

function bertBasicOptions(normalizer: Json | null | undefined): BasicOptions {
  if (!normalizer || normalizer['type'] !== 'BertNormalizer') {
    throw new TokenizerError(`tokenizer.json: a WordPiece tokenizer needs a BertNormalizer (found ${normalizer ? String(normalizer['type']) : 'none'}); load it from vocab.txt instead`);
  }
  const lowercase = normalizer['lowercase'] !== false;
  const strip = normalizer['strip_accents'];
  return { lowercase, stripAccents: typeof strip === 'boolean' ? strip : lowercase, chineseChars: normalizer['handle_chinese_chars'] !== false };
}

/** The tokenizer.json that Hugging Face builds for RoBERTa from vocab.json and merges.txt. */
export function robertaJsonFromVocabMerges(vocabJson: Json, mergesTxt: string): Json {
  const merges = mergesTxt.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l && !l.startsWith('#version'));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const added = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'].filter((t) => typeof vocabJson[t] === 'number')
    .map((t) => ({ id: vocabJson[t], content: t, single_word: false, lstrip: t === '<mask>', rstrip: false, normalized: false, special: true }));
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null, pre_tokenizer: byteLevel,
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab: vocabJson, merges },
  };
}

export function hfTokenizerFromJson(json: Json, files: TokenizerFiles, modelType: ModelType): HfBacked {
  const model = json['model'] as Json | undefined;
  if (!model || typeof model !== 'object') throw new TokenizerError('tokenizer.json: no "model" section; give the tokenizer.json that Hugging Face saved with the model');
  const config = parseJsonFile('tokenizer_config.json', files['tokenizer_config.json']) ?? {};
  let hf: HfTokenizer;
  try {
    hf = new HfTokenizer(json, config);
  } catch (e) {
    throw new TokenizerError(`tokenizer.json: @huggingface/tokenizers cannot load it: ${(e as Error).message}`);
  }
  const names = specialNames(files, modelType);
  const special = resolveSpecials(names, (t) => library('looking up a special token', () => hf.token_to_id(t)), 'tokenizer.json');
  const maxLength = modelMaxLengthOf(files);
  const type = model['type'];
  if (modelType === 'roberta') {
    const pre = json['pre_tokenizer'] as Json | null;
    if (type !== 'BPE' || !pre || pre['type'] !== 'ByteLevel' || json['normalizer']) {
      throw new TokenizerError(`tokenizer.json: RoBERTa needs a byte-level BPE without normalizer (found model ${String(type)}, pre_tokenizer ${pre ? String(pre['type']) : 'none'})`);
    }
    const post = json['post_processor'] as Json | null;
    const trim = (post?.['trim_offsets'] ?? pre['trim_offsets'] ?? true) !== false;
    return new HfByteLevelTokenizer(hf, modelType, special, maxLength, pre['add_prefix_space'] === true, trim);
  }
  if (type !== 'WordPiece') throw new TokenizerError(`tokenizer.json: ${modelType} needs a WordPiece model (found ${String(type)})`);
  const unk = typeof model['unk_token'] === 'string' ? model['unk_token'] : names.unk;
  const prefix = typeof model['continuing_subword_prefix'] === 'string' ? model['continuing_subword_prefix'] : '##';
  return new HfWordPieceTokenizer(hf, modelType, special, maxLength, bertBasicOptions(json['normalizer'] as Json | null), unk, prefix);
}
