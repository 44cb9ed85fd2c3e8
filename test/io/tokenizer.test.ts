import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TokenizerError, loadTokenizer, longestFirstLengths, type Tokenizer, type TokenizerFiles } from '../../src/io/tokenizer.js';
import { basicTokenize } from '../../src/io/tokenizer-wordpiece.js';
import miniVocab from '../../models/sst2-mini/vocab.txt' with { type: 'text' };
import miniJson from '../../models/sst2-mini/tokenizer.json' with { type: 'json' };
import miniConfig from '../../models/sst2-mini/tokenizer_config.json' with { type: 'json' };
import miniMap from '../../models/sst2-mini/special_tokens_map.json' with { type: 'json' };
import miniInputs from '../../models/sst2-mini/reference/inputs.jsonl' with { type: 'text' };
import bertVocab from '../fixtures/data/bert-base-uncased/vocab.txt' with { type: 'text' };
import bertConfig from '../fixtures/data/bert-base-uncased/tokenizer_config.json' with { type: 'json' };
import sst2Dev from '../fixtures/data/glue/SST-2/dev.tsv' with { type: 'text' };
import rteDev from '../fixtures/data/glue/RTE/dev.tsv' with { type: 'text' };
import squadSlice from '../fixtures/data/squad/dev-v1.1-slice.json' with { type: 'json' };

interface Reference { sentence: string; tokens: string[]; input_ids: number[]; token_type_ids: number[]; attention_mask: number[] }
const references: Reference[] = miniInputs.trim().split('\n').map((l) => JSON.parse(l) as Reference);

const miniFiles: TokenizerFiles = { 'vocab.txt': miniVocab, 'tokenizer.json': miniJson, 'tokenizer_config.json': miniConfig, 'special_tokens_map.json': miniMap };
const miniWordPiece = loadTokenizer(miniFiles, 'bert');
const miniLibrary = loadTokenizer(miniFiles, 'bert', { prefer: 'tokenizer.json' });

const bertWordPiece = loadTokenizer({ 'vocab.txt': bertVocab, 'tokenizer_config.json': bertConfig }, 'bert');
/** bert-base-uncased as a tokenizer.json: sst2-mini's hand-written one with the full vocabulary. */
function bertTokenizerJson(): object {
  const json = structuredClone(miniJson) as unknown as { added_tokens: { id: number; content: string }[]; model: { vocab: Record<string, number> }; post_processor: { special_tokens: Record<string, { ids: number[] }> } };
  const vocab: Record<string, number> = {};
  bertVocab.split('\n').filter((t, i, a) => i < a.length - 1 || t).forEach((t, i) => { vocab[t] = i; });
  json.model.vocab = vocab;
  for (const t of json.added_tokens) t.id = vocab[t.content]!;
  for (const [name, s] of Object.entries(json.post_processor.special_tokens)) s.ids = [vocab[name]!];
  return json;
}
const bertLibrary = loadTokenizer({ 'tokenizer.json': bertTokenizerJson(), 'tokenizer_config.json': bertConfig }, 'bert');

const tokensOf = (t: Tokenizer, text: string) => t.encode(text, undefined, { maxLength: 512 }).inputIds.map((id) => t.idToToken(id));
const spansOf = (t: Tokenizer, text: string) => t.tokenize(text).offsets.map(([s, e]) => text.slice(s, e));

const sst2 = suite('sst2-mini reference inputs');
for (const [name, tok] of [['vocab.txt (hand-written WordPiece)', miniWordPiece], ['tokenizer.json (@huggingface/tokenizers)', miniLibrary]] as const) {
  sst2(`all 64 match exactly from ${name}`, () => {
    assert.is(references.length, 64);
    for (const r of references) {
      const e = tok.encode(r.sentence, undefined, { maxLength: 128 });
      assert.equal(e.inputIds, r.input_ids, r.sentence);
      assert.equal(e.tokenTypeIds, r.token_type_ids);
      assert.equal(e.attentionMask, r.attention_mask);
      assert.equal(e.inputIds.map((id) => tok.idToToken(id)), r.tokens);
    }
  });
}
sst2('special tokens are looked up by name (sst2-mini: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4)', () => {
  for (const t of [miniWordPiece, miniLibrary]) assert.equal(t.special, { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 });
  assert.equal(bertWordPiece.special, { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 });
  assert.is(miniWordPiece.vocabSize, 12037);
  assert.is(miniWordPiece.modelMaxLength, 128);
});
sst2('offsets point at each piece in the original text', () => {
  for (const r of references) {
    const e = miniWordPiece.encode(r.sentence, undefined, { maxLength: 128 });
    e.offsets.forEach(([s, end], i) => {
      const token = r.tokens[i]!;
      if (e.sequenceIds[i] === null) return assert.equal([s, end], [0, 0]);
      assert.is(r.sentence.slice(s, end).toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, ''), token.replace(/^##/, ''), `${r.sentence} token ${i}`);
    });
  }
});
sst2.run();

const tricky = suite('bert-base-uncased on tricky text');
const cases: [string, string[]][] = [
  ['Héllo, WÖRLD! naïve café', ['hello', ',', 'world', '!', 'naive', 'cafe']],
  ['e\u0301', ['e']], // a combining accent alone disappears
  ['中文 and 日本語', ['中', '文', 'and', '日', '本', '語']],
  ['unaffable', ['una', '##ffa', '##ble']],
  ["don't $5.00 a^b", ['don', "'", 't', '$', '5', '.', '00', 'a', '^', 'b']],
  ['«quoted»—dash…', ['«', 'quoted', '»', '—', 'dash', '…']],
  ['x'.repeat(101), ['[UNK]']],
  ['a\u00a0b\tc\nd\u3000e\r\nf', ['a', 'b', 'c', 'd', 'e', 'f']], // Zs and \t \n \r split
  ['a\u200bb a\u0000b a\ufffdb', ['ab', 'ab', 'ab']], // Cf, NUL and U+FFFD are dropped, not split on
  ['', []],
  [' \t\n ', []],
  ['☃', ['[UNK]']],
  ['😀 hi', ['[UNK]', 'hi']],
];
for (const [text, pieces] of cases) {
  tricky(JSON.stringify(text), () => {
    assert.equal(tokensOf(bertWordPiece, text), ['[CLS]', ...pieces, '[SEP]']);
  });
}
tricky('a word of exactly 100 characters is still split into pieces', () => {
  const t = tokensOf(bertWordPiece, 'x'.repeat(100));
  assert.ok(t.length > 3 && !t.includes('[UNK]'));
});
tricky('offsets of normalized text map back to the original characters', () => {
  const text = 'Ça  va?  Ｗｅｌｌ,中文 😀 x';
  const words = basicTokenize(text, { lowercase: true, stripAccents: true, chineseChars: true });
  assert.equal(words.map((w) => w.chars.join('')), ['ca', 'va', '?', 'ｗｅｌｌ', ',', '中', '文', '😀', 'x']);
  assert.equal(spansOf(bertWordPiece, text), ['Ça', 'va', '?', 'Ｗｅｌｌ', ',', '中', '文', '😀', 'x']);
  assert.equal(spansOf(bertWordPiece, 'unaffable!'), ['una', 'ffa', 'ble', '!']);
});
tricky.run();

// The two implementations on the full bert-base-uncased vocabulary, on real text.
const agree = suite('hand-written WordPiece and @huggingface/tokenizers agree');
const squadTexts = (squadSlice as { data: { paragraphs: { context: string; qas: { question: string }[] }[] }[] }).data
  .flatMap((a) => a.paragraphs.flatMap((p) => [p.context, ...p.qas.map((q) => q.question)]));
const tsvTexts = (tsv: string) => tsv.trim().split('\n').slice(1).flatMap((l) => l.split('\t'));
agree('ids and offsets on SST-2, RTE, SQuAD and the tricky strings', () => {
  const texts = [...tsvTexts(sst2Dev), ...tsvTexts(rteDev), ...squadTexts, ...cases.map(([t]) => t)];
  assert.ok(texts.length > 100);
  for (const text of texts) {
    assert.equal(bertLibrary.tokenize(text), bertWordPiece.tokenize(text), text);
  }
});
agree('known difference: astral CJK ideographs (the library checks UTF-16 units) is an error, not a wrong offset', () => {
  assert.equal(tokensOf(bertWordPiece, '𠀀𠀁'), ['[CLS]', '[UNK]', '[UNK]', '[SEP]']);
  assert.throws(() => bertLibrary.tokenize('𠀀𠀁'), (e: Error) => e instanceof TokenizerError && /prefer: 'vocab.txt'/.test(e.message));
});
agree.run();

const pairs = suite('pairs and truncation');
pairs('BERT pair: [CLS] a [SEP] b [SEP], token types 0 then 1, sequence ids', () => {
  const e = bertWordPiece.encode('Hello there', 'General Kenobi', { maxLength: 32 });
  assert.equal(e.inputIds.map((i) => bertWordPiece.idToToken(i)), ['[CLS]', 'hello', 'there', '[SEP]', 'general', 'ken', '##ob', '##i', '[SEP]']);
  assert.equal(e.tokenTypeIds, [0, 0, 0, 0, 1, 1, 1, 1, 1]);
  assert.equal(e.sequenceIds, [null, 0, 0, null, 1, 1, 1, 1, null]);
  assert.equal(e.offsets, [[0, 0], [0, 5], [6, 11], [0, 0], [0, 7], [8, 11], [11, 13], [13, 14], [0, 0]]);
  assert.equal(e.attentionMask, [1, 1, 1, 1, 1, 1, 1, 1, 1]);
});
pairs('longest_first follows tokenizers (Rust): shorter kept whole if it can be, else halves, odd token to the longer', () => {
  assert.equal(longestFirstLengths(3, 10, 8), [3, 5]);
  assert.equal(longestFirstLengths(10, 3, 8), [5, 3]);
  assert.equal(longestFirstLengths(10, 9, 8), [4, 4]);
  assert.equal(longestFirstLengths(10, 9, 7), [4, 3]);
  assert.equal(longestFirstLengths(9, 10, 7), [3, 4]);
  assert.equal(longestFirstLengths(9, 9, 7), [3, 4]);
  assert.equal(longestFirstLengths(2, 2, 8), [2, 2]);
});
pairs('encode truncates to maxLength with each strategy', () => {
  const a = 'one two three four five six', b = 'seven eight';
  const lf = bertWordPiece.encode(a, b, { maxLength: 8 });
  assert.is(lf.inputIds.length, 8);
  assert.equal(lf.sequenceIds, [null, 0, 0, 0, null, 1, 1, null]);
  const os = bertWordPiece.encode(b, a, { maxLength: 8, truncation: 'only_second' });
  assert.equal(os.sequenceIds, [null, 0, 0, null, 1, 1, 1, null]);
  assert.is(bertWordPiece.encode(a, undefined, { maxLength: 4 }).inputIds.length, 4);
  assert.is(bertWordPiece.encode(a, b, { maxLength: 4, truncation: 'do_not_truncate' }).inputIds.length, 11);
  assert.throws(() => bertWordPiece.encode(a, b, { maxLength: 8, truncation: 'only_second' }), /only_second/);
  assert.throws(() => bertWordPiece.encode(a, b, { maxLength: 2 }), /special tokens/);
});
pairs.run();

// RoBERTa: no public roberta-base tokenizer files in shared/, so a tiny byte-level BPE of
// the same layout as roberta-base's tokenizer.json (vocab of the 256 byte characters + merges).
const roberta = suite('RoBERTa byte-level BPE through @huggingface/tokenizers');
function byteChars(): string[] {
  const bytes: number[] = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const chars = bytes.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bytes.includes(b)) { bytes.push(b); chars.push(256 + n++); }
  return chars.map((c) => String.fromCharCode(c));
}
const merges = ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'o r', 'Ġw or', 'Ġwor l', 'Ġworl d', 'Ã ©'];
const robertaVocab: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
for (const c of [...byteChars(), ...merges.map((m) => m.replace(' ', ''))]) robertaVocab[c] ??= Object.keys(robertaVocab).length;
robertaVocab['<mask>'] = Object.keys(robertaVocab).length;
const robertaFiles: TokenizerFiles = { 'vocab.json': JSON.stringify(robertaVocab), 'merges.txt': '#version: 0.2\n' + merges.join('\n') + '\n' };
const rob = loadTokenizer(robertaFiles, 'roberta');
roberta('pieces, ids, template <s> a </s></s> b </s>, token types 0, offsets without the leading space', () => {
  const e = rob.encode('hello world', 'héllo', { maxLength: 16 });
  assert.equal(e.inputIds.map((i) => rob.idToToken(i)), ['<s>', 'hello', 'Ġworld', '</s>', '</s>', 'h', 'Ã©', 'll', 'o', '</s>']);
  assert.equal(e.tokenTypeIds, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(e.sequenceIds, [null, 0, 0, null, null, 1, 1, 1, 1, null]);
  assert.equal(e.offsets, [[0, 0], [0, 5], [6, 11], [0, 0], [0, 0], [0, 1], [1, 2], [2, 4], [4, 5], [0, 0]]);
  assert.equal(rob.special, { cls: 0, pad: 1, sep: 2, unk: 3, mask: robertaVocab['<mask>'] });
  assert.is(rob.numSpecialTokens(true), 4);
});
roberta('a tokenizer.json gives the same as vocab.json + merges.txt; 😀 splits into bytes with one span', () => {
  const fromJson = loadTokenizer({ 'tokenizer.json': JSON.stringify(robertaJson()) }, 'roberta');
  assert.equal(fromJson.encode('hello world 😀', undefined, { maxLength: 16 }), rob.encode('hello world 😀', undefined, { maxLength: 16 }));
  const e = rob.tokenize('a😀');
  assert.equal(e.offsets, [[0, 1], [1, 3], [1, 3], [1, 3], [1, 3]]);
});
function robertaJson(): object {
  return { model: { type: 'BPE', vocab: robertaVocab, merges }, normalizer: null, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false }, decoder: { type: 'ByteLevel' },
    added_tokens: ['<s>', '<pad>', '</s>', '<unk>', '<mask>'].map((t) => ({ id: robertaVocab[t], content: t, single_word: false, lstrip: t === '<mask>', rstrip: false, normalized: false, special: true })) };
}
roberta.run();

const errors = suite('loader errors');
errors('say which file is missing or wrong', () => {
  assert.throws(() => loadTokenizer({}, 'roberta'), /RoBERTa needs tokenizer.json/);
  assert.throws(() => loadTokenizer({ 'vocab.txt': bertVocab }, 'roberta'), /RoBERTa needs tokenizer.json/);
  assert.throws(() => loadTokenizer({}, 'bert'), /needs vocab.txt or tokenizer.json/);
  assert.throws(() => loadTokenizer({ 'vocab.txt': 'a\nb\n' }, 'bert'), /cls token '\[CLS\]' is not in the vocabulary/);
  assert.throws(() => loadTokenizer({ 'vocab.txt': bertVocab, 'tokenizer_config.json': '{oops' }, 'bert'), /tokenizer_config.json:/);
  assert.throws(() => loadTokenizer({ 'tokenizer.json': '{}' }, 'distilbert'), /no "model" section/);
});
errors('a damaged tokenizer.json fails with a TokenizerError, never gives ids outside its vocabulary', () => {
  // Found by test/fuzz/data.test.ts: the library's own TypeError, and ids of -2 or undefined.
  const damaged = (edit: (json: Record<string, any>) => void, text = 'Hello, world!') => {
    const json = structuredClone(miniJson) as Record<string, any>;
    edit(json);
    return () => loadTokenizer({ 'tokenizer.json': json }, 'bert').encode(text, undefined, { maxLength: 16 });
  };
  const fails = (fn: () => unknown, message: RegExp) => assert.throws(fn, (e: Error) => e instanceof TokenizerError && message.test(e.message));
  fails(damaged((j) => { j.post_processor.single = 33; }), /^tokenizer\.json: @huggingface\/tokenizers failed/);
  fails(damaged((j) => { j.added_tokens[2].id = -2; }), /^tokenizer\.json: (token "\[CLS\]" has id -2|the cls token has id -2)/);
  fails(damaged((j) => { j.model.unk_token = ''; }, 'naïve 東京'), /^tokenizer\.json: encoding "naïve 東京" gave/);
});
errors('cased vocab: do_lower_case false keeps case and accents', () => {
  const cased = loadTokenizer({ 'vocab.txt': '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nCafé\ncafe\n', 'tokenizer_config.json': '{"do_lower_case": false}' }, 'distilbert');
  assert.equal(tokensOf(cased, 'Café cafe Cafe'), ['[CLS]', 'Café', 'cafe', '[UNK]', '[SEP]']);
});
errors.run();
