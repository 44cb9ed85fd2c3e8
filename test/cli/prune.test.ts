import * as assert from 'uvu/assert';
import { encodeSafetensors } from '../../src/io/safetensors-write.js';
import { wgprune } from '../helpers/cli.js';
import { gpuSuite, skip } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { makeCheckpoint, smallConfig, smallConfigJson } from '../reference/model.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const samples = 'data/glue/SST-2/train-2048.tsv';
const dev = 'test/fixtures/data/glue/SST-2/dev.tsv'; // the first 30 SST-2 dev sentences
const squad = 'test/fixtures/data/squad/dev-v1.1-slice.json';

interface Report {
  constraint: number; fisher: string; costModel: { seqLen: number; fraction: number };
  samples: { examples: number; seed: number };
  kept: { heads: number; neurons: number; headsPerLayer: number[]; neuronsPerLayer: number[] };
  seconds: Record<string, number>; size: { parametersBefore: number; parametersAfter: number; weightBytesAfter: number };
  tuning: { log: { layer: number; block: string; status: string }[] } | 'off';
  dev: { examples: number; full: Record<string, number>; afterSearch: { agreement: number; meanKL: number }; afterRearrangement: unknown; afterTuning: { metrics: Record<string, number>; agreement: number; meanKL: number } };
}

const t = gpuSuite('cli prune');

async function tempDir() {
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  return fs.mkdtemp(`${os.tmpdir()}/wgprune-cli-`);
}

t('prune writes the pruned model folder that eval scores as the report says; refuses to overwrite it; --force gives the same bytes', async () => {
  if (!isNode) return skip('runs the CLI');
  const fs = await import('node:fs/promises');
  const dir = await tempDir(), out = `${dir}/pruned`;
  const args = ['prune', '--task', 'sst2', '--samples', samples, '--sample-count', '64', '--constraint', '0.5', '--data', dev, '--out', out];
  const r = await wgprune(...args);
  assert.is(r.code, 0, r.stderr);
  assert.equal((await fs.readdir(out)).sort(), ['config.json', 'masks.json', 'model.safetensors', 'report.json', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);
  assert.equal(await fs.readdir(dir), ['pruned'], 'no temporary folder left');
  const report = JSON.parse(await fs.readFile(`${out}/report.json`, 'utf8')) as Report;
  const masks = JSON.parse(await fs.readFile(`${out}/masks.json`, 'utf8')) as { head: number[][]; neuron: number[][] };
  const config = JSON.parse(await fs.readFile(`${out}/config.json`, 'utf8')) as Record<string, unknown>;
  assert.is(report.samples.examples, 64);
  assert.is(report.costModel.seqLen, 25.16, 'the reference code\'s SST-2 length');
  assert.ok(report.costModel.fraction <= 0.5 && report.costModel.fraction > 0.45, `MACs kept: ${report.costModel.fraction}`);
  assert.is(report.fisher, 'per example');
  const nonzero = (m: number[][]) => m.map((l) => l.filter((v) => v !== 0).length);
  assert.equal(report.kept.headsPerLayer, nonzero(masks.head));
  assert.equal(report.kept.neuronsPerLayer, nonzero(masks.neuron));
  assert.equal(config.wgprune_pruned, { heads_kept: nonzero(masks.head), intermediate_sizes: nonzero(masks.neuron) });
  assert.equal(config.pruned_heads, Object.fromEntries(masks.head.flatMap((l, i) => {
    const p = l.flatMap((v, h) => (v === 0 ? [h] : []));
    return p.length ? [[String(i), p]] : [];
  })));
  assert.ok(masks.neuron.flat().some((v) => v !== 0 && v !== 1), 'tuned values, not binary');
  assert.ok(report.tuning !== 'off' && report.tuning.log.length === 8);
  assert.ok(report.size.parametersAfter < report.size.parametersBefore);
  assert.is(report.size.weightBytesAfter, (await fs.stat(`${out}/model.safetensors`)).size);
  for (const step of ['fisher', 'search', 'rearrange', 'tune', 'export', 'total']) assert.ok(report.seconds[step]! >= 0, step);
  assert.is(report.dev.examples, 30);
  assert.ok(report.dev.afterSearch.agreement >= 0 && report.dev.afterTuning.meanKL >= 0);
  // The written folder, loaded from disk, scores what the report says.
  const e = await wgprune('eval', '--model', out, '--task', 'sst2', '--data', dev, '--json');
  assert.is(e.code, 0, e.stderr);
  assert.is((JSON.parse(e.stdout) as { metrics: { accuracy: number } }).metrics.accuracy, report.dev.afterTuning.metrics.accuracy!);
  // An existing folder is refused before any work; --force replaces it with the same bytes.
  const again = await wgprune(...args);
  assert.is(again.code, 1);
  assert.match(again.stderr, 'already exists; choose another folder, or pass --force');
  const before = await Promise.all(['model.safetensors', 'masks.json'].map((f) => fs.readFile(`${out}/${f}`)));
  const forced = await wgprune(...args, '--force');
  assert.is(forced.code, 0, forced.stderr);
  const after = await Promise.all(['model.safetensors', 'masks.json'].map((f) => fs.readFile(`${out}/${f}`)));
  assert.ok(before.every((b, i) => b.equals(after[i]!)), 'same seed and inputs, same model.safetensors and masks.json');
  await fs.rm(dir, { recursive: true });
});

t('prune refuses bad values, outputs over its inputs and a missing folder, before loading the model', async () => {
  if (!isNode) return skip('runs the CLI');
  const dir = await tempDir();
  for (const c of ['0', '1', '1.5', '-0.2', 'half']) {
    const r = await wgprune('prune', '--task', 'sst2', '--samples', samples, `--constraint=${c}`);
    assert.is(r.code, 2, 'a usage error');
    assert.match(r.stderr, `--constraint is the fraction of the MACs to keep, in (0, 1); got "${c}"`);
  }
  const missing = await wgprune('prune', '--task', 'sst2', '--constraint', '0.5');
  assert.match(missing.stderr, '--task, --samples and --constraint are required');
  const nofile = await wgprune('prune', '--task', 'sst2', '--samples', 'no/such/train.tsv', '--constraint', '0.5');
  assert.is(nofile.code, 1);
  assert.match(nofile.stderr, 'no/such/train.tsv');
  const base = ['prune', '--task', 'sst2', '--samples', samples, '--constraint', '0.5'];
  for (const [extra, message, code] of [
    [['--out', 'models/sst2-mini', '--force'], 'would replace or contain the input', 1],
    [['--out', './models/../models/sst2-mini', '--force'], 'would replace or contain the input', 1],
    [['--out', 'models', '--force'], 'would replace or contain the input', 1],
    [['--out', 'models/sst2-mini/pruned'], 'lies inside the input', 1],
    [['--out', samples, '--force'], 'would replace or contain the input', 1],
    [['--out', `${dir}/missing/pruned`], 'does not exist', 1],
    [['--force'], '--force replaces the --out folder', 2],
    [['--no-tune', '--teacher', 'sqrt'], '--no-tune turns off', 2],
    [['--teacher', 'half'], '--teacher is full or sqrt', 2],
    [['--damping', '-1'], '--damping must be a number >= 0', 2],
    [['--metric', 'speed'], '--metric is flops or latency', 2],
  ] as const) {
    const r = await wgprune(...base, ...extra);
    assert.is(r.code, code, `${extra.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, extra.join(' '));
    assert.not.match(r.stderr, 'model:', `${extra.join(' ')} refused before the model loads`);
  }
  const fs = await import('node:fs/promises');
  assert.ok((await fs.stat('models/sst2-mini/model.safetensors')).size > 0);
  await fs.rm(dir, { recursive: true });
});

t('prune --task squad: a small question-answering model end to end (span-loss Fisher, tuning on every token, EM/F1, the written model scored)', async () => {
  if (!isNode) return skip('runs the CLI');
  const fs = await import('node:fs/promises');
  const dir = await tempDir();
  // A random BERT QA model over bert-base-uncased's vocabulary, 200 positions.
  const vocab = await fs.readFile('test/fixtures/data/bert-base-uncased/vocab.txt', 'utf8');
  const extra = { vocab_size: vocab.trimEnd().split('\n').length, max_position_embeddings: 200, num_hidden_layers: 2 };
  const config = smallConfig('BertForQuestionAnswering', extra);
  const { source } = makeCheckpoint(new Random(), config);
  const tensors = new Map(await Promise.all([...source.shapes].map(async ([name, shape]) => [name, { shape, data: await source.read(name) }] as const)));
  await fs.mkdir(`${dir}/qa`);
  await fs.writeFile(`${dir}/qa/config.json`, JSON.stringify(smallConfigJson('BertForQuestionAnswering', extra)));
  await fs.writeFile(`${dir}/qa/vocab.txt`, vocab);
  const handle = await fs.open(`${dir}/qa/model.safetensors`, 'w');
  for (const chunk of encodeSafetensors(tensors)) await handle.write(chunk);
  await handle.close();
  const r = await wgprune('prune', '--model', `${dir}/qa`, '--task', 'squad', '--samples', squad, '--sample-count', '12', '--constraint', '0.5',
    '--data', squad, '--limit', '8', '--max-length', '192', '--out', `${dir}/out`);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /cost model at 170\.00 tokens/);
  const report = JSON.parse(await fs.readFile(`${dir}/out/report.json`, 'utf8')) as Report;
  assert.ok(report.samples.examples >= 12, 'features of 12 questions (long contexts give several)');
  assert.ok('exactMatch' in report.dev.full && 'f1' in report.dev.full, JSON.stringify(report.dev.full));
  assert.ok(report.tuning !== 'off' && report.tuning.log.some((e) => e.status === 'tuned'));
  const e = await wgprune('eval', '--model', `${dir}/out`, '--task', 'squad', '--data', squad, '--limit', '8', '--max-length', '192', '--json');
  assert.is(e.code, 0, e.stderr);
  assert.is((JSON.parse(e.stdout) as { metrics: { f1: number } }).metrics.f1, report.dev.afterTuning.metrics.f1!);
  await fs.rm(dir, { recursive: true });
});

t.run();
