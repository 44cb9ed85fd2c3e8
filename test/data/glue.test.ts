import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GLUE_TASK_INFO, glueTask, parseGlueTsv } from '../../src/data/glue.js';
import { DataError } from '../../src/data/text.js';
import sst2 from '../fixtures/data/glue/SST-2/dev.tsv' with { type: 'text' };
import mrpc from '../fixtures/data/glue/MRPC/dev.tsv' with { type: 'text' };
import stsb from '../fixtures/data/glue/STS-B/dev.tsv' with { type: 'text' };
import rte from '../fixtures/data/glue/RTE/dev.tsv' with { type: 'text' };
import qnli from '../fixtures/data/glue/QNLI/dev.tsv' with { type: 'text' };
import cola from '../fixtures/data/glue/CoLA/train.tsv' with { type: 'text' };
import qqp from '../fixtures/data/glue/QQP/dev.tsv' with { type: 'text' };
import mnli from '../fixtures/data/glue/MNLI/dev_matched.tsv' with { type: 'text' };

const real = suite('GLUE readers on the distributed files (first 30 rows)');
real('SST-2: sentence, label', () => {
  const d = parseGlueTsv('sst2', sst2, 'SST-2/dev.tsv');
  assert.is(d.examples.length, 30);
  assert.equal(d.examples[0], { textA: "it 's a charming and often affecting journey . ", label: 1 });
  assert.equal(d.examples[1], { textA: 'unflinchingly bleak and desperate ', label: 0 });
  assert.equal(d.labels, ['0', '1']);
});
real('MRPC: the BOM is dropped, Quality is the label, #1/#2 String the texts', () => {
  // esbuild's text import already drops the BOM: put it back, as read from disk.
  for (const data of ['\ufeff' + mrpc, new TextEncoder().encode('\ufeff' + mrpc)]) {
    const d = parseGlueTsv('mrpc', data, 'MRPC/dev.tsv');
    assert.is(d.examples.length, 30);
    assert.equal(d.examples[0], {
      textA: "He said the foodservice pie business doesn 't fit the company 's long-term growth strategy .",
      textB: '" The foodservice pie business does not fit our long-term growth strategy .', label: 1,
    });
  }
});
real('STS-B: float score from the last column', () => {
  const d = parseGlueTsv('stsb', stsb);
  assert.is(d.labels, null);
  assert.equal(d.examples[0], { textA: 'A man with a hard hat is dancing.', textB: 'A man wearing a hard hat is dancing.', label: 5 });
  assert.equal(d.examples[5]!.label, 2.615);
});
real('RTE and QNLI: string labels, literal quotes kept', () => {
  const r = parseGlueTsv('rte', rte);
  assert.is(r.examples.length, 30);
  assert.is(r.examples[0]!.label, 1); // not_entailment
  assert.ok(r.examples[0]!.textA.startsWith('Dana Reeve, the widow of the actor Christopher Reeve'));
  const q = parseGlueTsv('qnli', qnli);
  assert.equal(q.labels, ['entailment', 'not_entailment']);
  assert.equal(q.examples[0], { textA: 'What came into force after the new constitution was herald?', textB: 'As of that day, the new constitution heralding the Second Republic came into force.', label: 0 });
  assert.ok(q.examples.some((e) => e.textB!.includes('"')));
});
real.run();

const layouts = suite('GLUE readers on the official layouts of CoLA, QQP, MNLI');
layouts('CoLA train/dev: no header; source, label, notation, sentence', () => {
  const d = parseGlueTsv('cola', cola, 'CoLA/train.tsv');
  assert.is(d.examples.length, 8);
  assert.equal(d.examples[0], { textA: "Our friends won't buy this analysis, let alone the next one we propose.", label: 1 });
  assert.equal(d.examples[4], { textA: 'They drank the pub.', label: 0 });
  assert.throws(() => parseGlueTsv('cola', 'index\tsentence\n0\tBill whistled past the house.\n', 'CoLA/test.tsv'), /unlabelled cola test file/);
});
layouts('QQP: question1, question2, is_duplicate', () => {
  const d = parseGlueTsv('qqp', qqp);
  assert.is(d.examples.length, 5);
  assert.equal(d.examples[2], { textA: 'Is there a reason why we should travel alone?', textB: 'What are some reasons to travel alone?', label: 1 });
});
layouts('MNLI dev: 16 columns, sentence1/sentence2/gold_label; labels contradiction, entailment, neutral', () => {
  const d = parseGlueTsv('mnli', mnli, 'MNLI/dev_matched.tsv');
  assert.equal(d.labels, ['contradiction', 'entailment', 'neutral']);
  assert.equal(d.examples.map((e) => e.label), [2, 0, 1]);
  assert.equal(d.examples[0]!.textA, 'The new rights are nice enough');
  assert.equal(d.examples[0]!.textB, 'Everyone really likes the newest benefits ');
  // train.tsv's 12-column layout reads by the same header names.
  const train = 'index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label\n' +
    '0\t31193\t31193n\tgovernment\t( a )\t( b )\t(ROOT a)\t(ROOT b)\tConceptually cream skimming has two basic dimensions - product and geography.\tProduct and geography are what make cream skimming work. \tneutral\tneutral\n';
  assert.equal(parseGlueTsv('mnli', train).examples[0]!.label, 2);
});
layouts('task names', () => {
  assert.is(glueTask('SST-2'), 'sst2');
  assert.is(glueTask('STS-B'), 'stsb');
  assert.is(glueTask('MNLI-mm'), 'mnli');
  assert.is(GLUE_TASK_INFO.mrpc.metrics[0], 'f1');
  assert.throws(() => glueTask('wnli'), /unknown GLUE task/);
});
layouts.run();

const errors = suite('GLUE reader errors name the file, the line and the problem');
const fails = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: Error) => e instanceof DataError && re.test(e.message));
errors('empty file, header only, wrong header', () => {
  fails(() => parseGlueTsv('sst2', '', 'SST-2/dev.tsv'), /^SST-2\/dev.tsv: empty file/);
  fails(() => parseGlueTsv('sst2', 'sentence\tlabel\n', 'SST-2/dev.tsv'), /no examples after the header/);
  fails(() => parseGlueTsv('qqp', sst2, 'QQP/dev.tsv'), /^QQP\/dev.tsv:1: header has no 'question1' column/);
});
errors('wrong column count (a CSV-quoted or blank line) and unknown labels', () => {
  fails(() => parseGlueTsv('sst2', 'sentence\tlabel\ngood\t1\n\nbad\t0\n', 'f.tsv'), /^f.tsv:3: 1 tab-separated fields, expected 2 \(empty line\)/);
  fails(() => parseGlueTsv('rte', 'index\tsentence1\tsentence2\tlabel\n0\ta\tb\tneutral\n', 'RTE/dev.tsv'), /^RTE\/dev.tsv:2: unknown rte label 'neutral'; expected one of entailment, not_entailment/);
  fails(() => parseGlueTsv('stsb', stsb.replace('\t5.000\n', '\tfive\n'), 'STS-B/dev.tsv'), /^STS-B\/dev.tsv:2: STS-B score 'five'/);
  fails(() => parseGlueTsv('cola', 'gj04\t1\tOur friends.\n', 'CoLA/dev.tsv'), /^CoLA\/dev.tsv:1: 3 tab-separated fields, expected 4/);
  fails(() => parseGlueTsv('sst2', new Uint8Array([0x73, 0xff, 0x0a]), 'SST-2/dev.tsv'), /not valid UTF-8/);
});
errors('CRLF line endings read like LF', () => {
  assert.equal(parseGlueTsv('sst2', 'sentence\tlabel\r\ngood \t1\r\n').examples, [{ textA: 'good ', label: 1 }]);
});
errors.run();
