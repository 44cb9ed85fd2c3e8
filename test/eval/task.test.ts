import * as assert from 'uvu/assert';
import { GLUE_TASK_INFO, parseGlueTsv, type GlueTask } from '../../src/data/glue.js';
import { argmaxRows } from '../../src/data/metrics.js';
import { parseSquadJson } from '../../src/data/squad.js';
import { evaluateGlue, evaluateSquad, labelMap } from '../../src/eval/task.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { parseConfig } from '../../src/models/config.js';
import { EncoderModel } from '../../src/models/model.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { makeCheckpoint } from '../reference/model.js';
import vocab from '../fixtures/data/bert-base-uncased/vocab.txt' with { type: 'text' };
import tokenizerConfig from '../fixtures/data/bert-base-uncased/tokenizer_config.json' with { type: 'json' };
import squadSlice from '../fixtures/data/squad/dev-v1.1-slice.json' with { type: 'json' };
import rte from '../fixtures/data/glue/RTE/dev.tsv' with { type: 'text' };
import cola from '../fixtures/data/glue/CoLA/train.tsv' with { type: 'text' };
import sst2 from '../fixtures/data/glue/SST-2/dev.tsv' with { type: 'text' };
import mrpc from '../fixtures/data/glue/MRPC/dev.tsv' with { type: 'text' };
import stsb from '../fixtures/data/glue/STS-B/dev.tsv' with { type: 'text' };
import qqp from '../fixtures/data/glue/QQP/dev.tsv' with { type: 'text' };
import mnli from '../fixtures/data/glue/MNLI/dev_matched.tsv' with { type: 'text' };
import qnli from '../fixtures/data/glue/QNLI/dev.tsv' with { type: 'text' };

const rand = new Random();
const tokenizer = loadTokenizer({ 'vocab.txt': vocab, 'tokenizer_config.json': tokenizerConfig as object }, 'bert');

/** A tiny random BERT over bert-base-uncased's vocabulary. */
function tinyConfig(architecture: string, extra: Record<string, unknown> = {}) {
  return parseConfig({
    architectures: [architecture], model_type: 'bert', hidden_size: 12, num_attention_heads: 3, num_hidden_layers: 1,
    intermediate_size: 8, vocab_size: 30522, max_position_embeddings: 128, type_vocab_size: 2, ...extra,
  });
}

const t = gpuSuite('eval');

t('SQuAD end to end: windows over long contexts, spans decoded inside the context, scored', async ({ rt }) => {
  const config = tinyConfig('BertForQuestionAnswering');
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const data = parseSquadJson(JSON.stringify(squadSlice));
  data.examples.splice(6);
  const r = await evaluateSquad(model, tokenizer, data, false, { maxLength: 128, docStride: 48, batchSize: 4 });
  assert.ok(r.features > r.examples, `${r.features} windows for ${r.examples} questions: long contexts are split`);
  assert.is(r.predictions.size, 6);
  for (const e of data.examples) {
    const p = r.predictions.get(e.id)!;
    assert.ok(e.context.includes(p.text), `"${p.text}" is a span of the context`);
  }
  assert.ok(r.metrics.f1! >= 0 && r.metrics.f1! <= 100 && r.metrics.exactMatch! <= r.metrics.f1!);
  model.dispose();
});

t('GLUE classes map to the dataset\'s labels by name when id2label names them', async ({ rt }) => {
  // RTE's labels are [entailment, not_entailment]; this model orders them the other way.
  const config = tinyConfig('BertForSequenceClassification', { num_labels: 2, id2label: { 0: 'not_entailment', 1: 'entailment' } });
  assert.equal(labelMap(config, ['entailment', 'not_entailment']), [1, 0]);
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const data = parseGlueTsv('rte', rte);
  data.examples.splice(10);
  const r = await evaluateGlue(model, tokenizer, data, { maxLength: 64, batchSize: 4 });
  const classes = argmaxRows(r.logits, 2);
  classes.forEach((c, i) => assert.is(r.predictions[i], 1 - c, `example ${i}`));
  assert.is(r.metrics.accuracy, r.predictions.filter((p, i) => p === data.examples[i]!.label).length / 10);
  model.dispose();
});

const files: Record<GlueTask, string> = { cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte };
t('every GLUE task is read from its own file layout and scored with its own metrics', async ({ rt }) => {
  for (const task of Object.keys(files) as GlueTask[]) {
    const info = GLUE_TASK_INFO[task];
    const config = tinyConfig('BertForSequenceClassification', { num_labels: info.labels ? info.labels.length : 1 });
    const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
    const data = parseGlueTsv(task, files[task]);
    data.examples.splice(8);
    const r = await evaluateGlue(model, tokenizer, data, { maxLength: 64, batchSize: 4 });
    assert.equal(Object.keys(r.metrics), info.metrics.map((m) => m), task);
    for (const v of Object.values(r.metrics)) assert.ok(Number.isFinite(v) || Number.isNaN(v), `${task}: ${v}`);
    assert.is(r.logits.length, data.examples.length * config.numLabels, task);
    assert.ok(data.examples.length > 0, task);
    model.dispose();
  }
});

t('a task and a model that do not fit are refused', async ({ rt }) => {
  const config = tinyConfig('BertForSequenceClassification', { num_labels: 3 });
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  const data = parseGlueTsv('rte', rte);
  try {
    await evaluateGlue(model, tokenizer, data);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, 'the task has 2 labels (entailment, not_entailment) but the model has 3 classes');
  }
  model.dispose();
});

t.run();
