import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import {
  exactMatch, normalizeAnswer, parseSquadJson, squadFeatures, squadMetrics, squadPredictions, tokenF1,
  type SquadExample, type SquadFeature, type SquadLogits,
} from '../../src/data/squad.js';
import { DataError } from '../../src/data/text.js';
import slice from '../fixtures/data/squad/dev-v1.1-slice.json' with { type: 'json' };
import bertVocab from '../fixtures/data/bert-base-uncased/vocab.txt' with { type: 'text' };
import bertConfig from '../fixtures/data/bert-base-uncased/tokenizer_config.json' with { type: 'json' };

const tok = loadTokenizer({ 'vocab.txt': bertVocab, 'tokenizer_config.json': bertConfig }, 'bert');
const { version, examples } = parseSquadJson(JSON.stringify(slice), 'dev-v1.1-slice.json');

/** Logits that point at each feature's gold span (or [CLS] when the window lacks it). */
function oracleLogits(features: readonly SquadFeature[]): SquadLogits[] {
  return features.map((f) => {
    const start = new Float32Array(f.inputIds.length + 5), end = new Float32Array(f.inputIds.length + 5); // + padding
    start[f.startPosition] = 10;
    end[f.endPosition] = 10;
    return { start, end };
  });
}

const read = suite('SQuAD reader');
read('v1.1 slice: 3 articles, 9 paragraphs, 105 questions', () => {
  assert.is(version, '1.1');
  assert.is(examples.length, 105);
  const first = examples[0]!;
  assert.is(first.id, '56be4db0acb8001400a502ec');
  assert.is(first.title, 'Super_Bowl_50');
  assert.is(first.question, 'Which NFL team represented the AFC at Super Bowl 50?');
  assert.equal(first.answers.map((a) => a.text), ['Denver Broncos', 'Denver Broncos', 'Denver Broncos']);
  assert.is(first.isImpossible, false);
  for (const ex of examples) for (const a of ex.answers) assert.is(ex.context.slice(a.start, a.start + a.text.length), a.text);
});
read('answer_start counts code points (Python); offsets here are UTF-16', () => {
  const d = parseSquadJson(JSON.stringify({ version: 'v2.0', data: [{ title: 't', paragraphs: [{ context: '😀 is an emoji, 😀 again', qas: [
    { id: 'a', question: 'what?', answers: [{ text: 'again', answer_start: 17 }], is_impossible: false },
    { id: 'b', question: 'who?', answers: [], plausible_answers: [{ text: 'emoji', answer_start: 8 }], is_impossible: true },
  ] }] }] }));
  const [a, b] = d.examples;
  assert.is(a!.context.slice(a!.answers[0]!.start, a!.answers[0]!.start + 5), 'again');
  assert.equal([b!.isImpossible, b!.answers], [true, []]);
});
read('bad files name the JSON path', () => {
  assert.throws(() => parseSquadJson('{"data": [{"paragraphs": [{"context": "x", "qas": [{"id": "q"}]}]}]}', 'f.json'),
    (e: Error) => e instanceof DataError && /^f.json: data\[0\].paragraphs\[0\].qas\[0\]: a question without answers/.test(e.message));
  assert.throws(() => parseSquadJson('[1', 'f.json'), /f.json: not JSON/);
  assert.throws(() => parseSquadJson('{"data": []}', 'f.json'), /no questions/);
  // null where an object belongs (found by test/fuzz/data.test.ts: a TypeError before).
  assert.throws(() => parseSquadJson('{"data": [null]}', 'f.json'), (e: Error) => e instanceof DataError && /f.json: data\[0\]: expected an object/.test(e.message));
  assert.throws(() => parseSquadJson('{"data": [{"paragraphs": [{"context": "x", "qas": [7]}]}]}', 'f.json'), /data\[0\].paragraphs\[0\].qas\[0\]: expected an object/);
});
read.run();

const feats = suite('SQuAD features (run_qa.py preprocessing)');
feats('question first, context second; offsets only on context tokens; labels point at the answer', () => {
  const features = squadFeatures(examples, tok);
  assert.is(features.length, examples.length); // no context of the slice needs a second window at 384
  const f = features[0]!, ex = examples[0]!;
  assert.is(f.inputIds[0], tok.special.cls);
  assert.is(f.tokenTypeIds.indexOf(1), f.sequenceIds.indexOf(1));
  f.contextOffsets.forEach((o, i) => assert.is(o !== null, f.sequenceIds[i] === 1));
  const [s, e] = [f.contextOffsets[f.startPosition]!, f.contextOffsets[f.endPosition]!];
  assert.is(ex.context.slice(s[0], e[1]), 'Denver Broncos');
});
feats('long contexts overflow into windows that share docStride tokens and cover every token', () => {
  const ex = examples.reduce((a, b) => (b.context.length > a.context.length ? b : a));
  const context = tok.tokenize(ex.context), question = tok.tokenize(ex.question);
  const features = squadFeatures([ex], tok, { maxSeqLength: 96, docStride: 24 });
  const room = 96 - question.ids.length - 3;
  assert.ok(features.length > 3);
  const windows = features.map((f) => f.inputIds.filter((_, i) => f.sequenceIds[i] === 1));
  windows.forEach((w, k) => {
    assert.equal(w, context.ids.slice(k * (room - 24), k * (room - 24) + room));
    assert.ok(features[k]!.inputIds.length <= 96);
  });
  assert.is(windows.at(-1)!.at(-1), context.ids.at(-1));
  assert.is((features.length - 2) * (room - 24) + room < context.ids.length, true); // the last window was needed
  // The answer is labelled in the windows that hold it whole, [CLS] (0) elsewhere.
  const answer = ex.answers[0]!;
  for (const f of features) {
    if (f.startPosition === 0) continue;
    assert.is(ex.context.slice(f.contextOffsets[f.startPosition]![0], f.contextOffsets[f.endPosition]![1]).includes(answer.text), true);
  }
  assert.throws(() => squadFeatures([ex], tok, { maxSeqLength: 64, docStride: 64 }), /not more than docStride/);
});
feats('questions are cut to maxQueryLength tokens', () => {
  const ex: SquadExample = { ...examples[0]!, question: '   ' + 'why '.repeat(100) };
  const f = squadFeatures([ex], tok, { maxQueryLength: 64 })[0]!;
  assert.is(f.sequenceIds.filter((s) => s === 0).length, 64);
});
feats.run();

const post = suite('SQuAD post-processing and official metrics');
post('oracle logits give back the gold answers, except the 6 that are not whole tokens', () => {
  const features = squadFeatures(examples, tok);
  const preds = squadPredictions(examples, features, oracleLogits(features));
  // Gold 'gold' inside 'golden', '8' inside '18', ...: the labelled span is the whole token, as in run_qa.py.
  const missed = examples.filter((e) => !e.answers.some((a) => a.text === preds.get(e.id)!.text)).map((e) => [preds.get(e.id)!.text, e.answers[0]!.text]);
  assert.equal(missed, [['golden', 'gold'], ['18', '8'], ['49', '4'], ['12', '2'], ['50', '5'], ['50', '5']]);
  const scores = squadMetrics(examples, preds);
  assert.equal(scores, { exactMatch: (100 * 99) / 105, f1: (100 * 99) / 105, total: 105 });
});
post('spans must lie in the context, end >= start, at most maxAnswerLength tokens', () => {
  const features = squadFeatures(examples.slice(0, 1), tok);
  const f = features[0]!;
  const start = new Float32Array(f.inputIds.length), end = new Float32Array(f.inputIds.length);
  const firstContext = f.sequenceIds.indexOf(1);
  start[1] = 50; end[1] = 50; // a question token: never an answer
  start[firstContext + 5] = 20; end[firstContext + 2] = 20; // end before start
  start[firstContext] = 5; end[firstContext + 3] = 4; end[firstContext + 40] = 6;
  // Valid: [fc, fc+2] = 25, [fc, fc+3] = 9; too long at 30 tokens: [fc+5, fc+40] = 26, [fc, fc+40] = 11.
  const p = squadPredictions(examples.slice(0, 1), features, [{ start, end }]).get(examples[0]!.id)!;
  assert.is(p.text, 'Super Bowl 50');
  assert.is(p.bestSpanScore, 25);
  const long = squadPredictions(examples.slice(0, 1), features, [{ start, end }], { maxAnswerLength: 50 }).get(examples[0]!.id)!;
  assert.is(long.bestSpanScore, 26);
});
post('v2: [CLS] score against the best span, with a threshold; HasAns / NoAns splits', () => {
  const v2 = examples.slice(0, 4).map((e, i) => (i < 2 ? e : { ...e, answers: [], isImpossible: true }));
  const features = squadFeatures(v2, tok);
  const logits = features.map((f, i) => {
    const start = new Float32Array(f.inputIds.length), end = new Float32Array(f.inputIds.length);
    const gold = squadFeatures([examples[i]!], tok)[0]!;
    start[gold.startPosition] = 3; end[gold.endPosition] = 3; // span score 6
    start[0] = end[0] = i === 0 ? 2 : 4; // null 4 (answer) or 8 (no answer)
    return { start, end };
  });
  const preds = squadPredictions(v2, features, logits, { version2: true });
  assert.equal(v2.map((e) => preds.get(e.id)!.text), ['Denver Broncos', '', '', '']);
  const scores = squadMetrics(v2, preds, true);
  assert.equal(scores.hasAns, { exactMatch: 50, f1: 50, total: 2 });
  assert.equal(scores.noAns, { exactMatch: 100, f1: 100, total: 2 });
  assert.is(scores.exactMatch, 75);
  const lenient = squadPredictions(v2, features, logits, { version2: true, nullThreshold: 3 });
  // null − best span = 2 everywhere but the first: within a threshold of 3, every question gets its span.
  assert.equal(v2.map((e) => lenient.get(e.id)!.text), examples.slice(0, 4).map((e) => e.answers[0]!.text));
});
post('official normalisation, EM and F1 (max over gold answers)', () => {
  assert.is(normalizeAnswer('The  Cat, sat.'), 'cat sat');
  assert.is(normalizeAnswer('an Apple-a-day'), 'appleaday');
  assert.is(normalizeAnswer('theater then'), 'theater then');
  assert.is(normalizeAnswer('Élan the éthe'), 'élan éthe'); // \b is Unicode-aware, as in Python 3
  assert.is(exactMatch('the Denver Broncos!', 'Denver Broncos'), 1);
  const f1 = tokenF1('the cat sat on the mat', 'cat on mat');
  assert.ok(Math.abs(f1 - 6 / 7) < 1e-15);
  assert.is(tokenF1('the', 'cat'), 0);
  assert.is(tokenF1('the', 'a', true), 1); // v2: both empty after normalisation
  const ex = [{ id: 'q', title: '', question: '', context: '', isImpossible: false, answers: [{ text: 'Denver Broncos', start: 0 }, { text: 'the Broncos', start: 0 }] }];
  assert.equal(squadMetrics(ex, { q: 'Broncos' }), { exactMatch: 100, f1: 100, total: 1 });
  assert.equal(squadMetrics(ex, {}), { exactMatch: 0, f1: 0, total: 1 });
});
post.run();
