// Bad command lines, bad files and bad models, each with the one line it must end in: exit
// status 2 for a usage error, 1 for a failure, no stack trace (unless --debug), no result on
// stdout, no output file (issue 13). Then Ctrl-C: exit 130 and nothing left behind.
import * as assert from 'uvu/assert';
import { wgprune } from '../helpers/cli.js';
import { gpuSuite, skip } from '../helpers/gpu.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const SST2 = 'test/fixtures/data/glue/SST-2/dev.tsv', MNLI = 'test/fixtures/data/glue/MNLI/dev_matched.tsv';
const TINY = 'test/fixtures/checkpoints/safetensors-f32'; // 3 labels: runs on MNLI, by class index

interface Row { args: string[]; code: 1 | 2 | null; says: string | RegExp; why: string }

/** The temporary folder with the models and files the rows use; made once. */
async function prepare(): Promise<{ tmp: string; rows: Row[] }> {
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const tmp = await fs.mkdtemp(`${os.tmpdir()}/wgprune-bad-`);
  const copyModel = async (name: string, edit?: (files: Record<string, Buffer>) => void) => {
    const files: Record<string, Buffer> = {};
    for (const f of ['config.json', 'vocab.txt', 'model.safetensors']) files[f] = await fs.readFile(`${TINY}/${f}`);
    edit?.(files);
    await fs.mkdir(`${tmp}/${name}`);
    for (const [f, b] of Object.entries(files)) await fs.writeFile(`${tmp}/${name}/${f}`, b);
    return `${tmp}/${name}`;
  };
  /** One value of a tensor of model.safetensors set to `v`. */
  const poke = (tensor: string, index: number, v: number) => (files: Record<string, Buffer>) => {
    const b = files['model.safetensors']!, n = b.readUInt32LE(0);
    const header = JSON.parse(b.subarray(8, 8 + n).toString()) as Record<string, { data_offsets: [number, number] }>;
    b.writeFloatLE(v, 8 + n + header[tensor]!.data_offsets[0] + 4 * index);
  };
  const config = (edit: (c: Record<string, unknown>) => void) => (files: Record<string, Buffer>) => {
    const c = JSON.parse(files['config.json']!.toString()) as Record<string, unknown>;
    edit(c);
    files['config.json'] = Buffer.from(JSON.stringify(c));
  };
  const nan = await copyModel('nan', poke('classifier.bias', 1, NaN));
  const inf = await copyModel('inf-unused-row', poke('bert.embeddings.word_embeddings.weight', 99 * 32 + 5, Infinity)); // token 99 never appears
  const bigVocab = await copyModel('big-vocab', (f) => { f['vocab.txt'] = Buffer.concat([f['vocab.txt']!, Buffer.from('extra\n')]); });
  const fewerLayers = await copyModel('fewer-layers', config((c) => { c.num_hidden_layers = 1; }));
  const hugeLabels = await copyModel('huge-labels', config((c) => { c.num_labels = 2 ** 31; delete c.id2label; }));
  const regression = await copyModel('regression-3', config((c) => { c.problem_type = 'regression'; }));
  const wideFfn = await copyModel('wide-ffn', config((c) => { c.intermediate_size = 128; }));
  const dev = `${tmp}/dev.tsv`;
  await fs.copyFile(SST2, dev);
  await fs.link(dev, `${tmp}/hard-link.tsv`);
  await fs.symlink(dev, `${tmp}/sym-link.tsv`);
  await fs.mkdir(`${tmp}/a-folder`);
  const rows: Row[] = [
    // Usage errors: the command line itself.
    { args: ['eval', '--task', 'sst2', '--data', SST2, '--max-length', '0'], code: 2, says: 'wgprune eval: --max-length must be a positive whole number, got "0" (see wgprune eval --help)', why: 'zero' },
    { args: ['eval', '--task', 'sst2', '--data', SST2, '--limit', 'abc'], code: 2, says: '--limit must be a positive whole number, got "abc"', why: 'not a number' },
    { args: ['eval', '--task', 'sst2', '--data', SST2, '--batch-size', '1.5'], code: 2, says: '--batch-size must be a positive whole number, got "1.5"', why: 'a fraction' },
    { args: ['eval', '--task', 'sst2', '--data', SST2, '--limit', '1e3'], code: 2, says: '--limit must be a positive whole number, got "1e3"', why: 'an exponent' },
    { args: ['eval', '--task', 'sst2', '--data', SST2, '--limit', '-1'], code: 2, says: '--limit must be a positive whole number, got "-1"', why: 'a negative number after a space (Node calls it ambiguous)' },
    { args: ['eval', '--task', 'sst2', '--data', SST2, '--max-length=-5'], code: 2, says: '--max-length must be a positive whole number, got "-5"', why: 'a negative number after =' },
    { args: ['eval', '--task', 'sst2', '--data', SST2, '--bogus'], code: 2, says: 'wgprune eval: unknown option --bogus (see wgprune eval --help)', why: 'unknown flag' },
    { args: ['eval', '--task', 'sst2', '--data', SST2, '-x'], code: 2, says: 'unknown option -x', why: 'unknown short flag' },
    { args: ['eval', '--task', 'sst2'], code: 2, says: 'wgprune eval: --task and --data are required', why: 'missing --data' },
    { args: ['eval', '--task', 'nope', '--data', SST2], code: 2, says: '--task "nope" is not a task; use one of cola, sst2', why: 'unknown task' },
    { args: ['eval', '--task', 'sst2', '--data', SST2, '--limit'], code: 2, says: '--limit needs a value', why: 'missing value' },
    { args: ['eval', '--task', 'sst2', '--data', SST2, '--json=yes'], code: 2, says: '--json takes no value', why: 'value to a switch' },
    { args: ['eval', '--task', 'sst2', '--data', SST2, 'extra'], code: 2, says: "unexpected argument 'extra'", why: 'positional argument' },
    { args: ['predict', '--task', 'sst2', '--data', SST2], code: 2, says: '--task, --data and --out are required', why: 'missing --out' },
    { args: ['predict', '--task', 'sst2', '--data', dev, '--out', `${tmp}/a-folder/../dev.tsv`], code: 2, says: 'is the --data file', why: '--out is --data, spelled another way' },
    { args: ['predict', '--task', 'sst2', '--data', dev, '--out', `${tmp}/hard-link.tsv`], code: 2, says: `--out ${tmp}/hard-link.tsv is the --data file ${dev}`, why: '--out is a hard link to --data' },
    { args: ['predict', '--task', 'sst2', '--data', dev, '--out', `${tmp}/sym-link.tsv`], code: 2, says: 'is the --data file', why: '--out is a symbolic link to --data' },
    { args: ['predict', '--task', 'mnli', '--data', MNLI, '--model', TINY, '--out', `${TINY}/config.json`], code: 2, says: 'would replace config.json of the --model folder', why: '--out is a file of the model' },
    { args: ['frobnicate'], code: 2, says: 'wgprune: unknown command "frobnicate"; the commands are demo, eval, predict, prune', why: 'unknown command' },
    // Failures: files and models.
    { args: ['eval', '--task', 'sst2', '--data', 'no/such/dev.tsv'], code: 1, says: 'wgprune eval: --data no/such/dev.tsv: no such file', why: 'missing data file' },
    { args: ['eval', '--task', 'sst2', '--data', 'test/fixtures'], code: 1, says: '--data test/fixtures: is a folder; give a file', why: 'data is a folder' },
    { args: ['eval', '--task', 'sst2', '--data', SST2, '--model', 'no/such/model'], code: 1, says: '--model no/such/model: no such folder', why: 'missing model' },
    { args: ['eval', '--task', 'sst2', '--data', SST2, '--model', SST2], code: 1, says: 'is a file; give the Hugging Face model folder', why: 'model is a file' },
    { args: ['eval', '--task', 'sst2', '--data', SST2, '--model', 'test/fixtures/checkpoints'], code: 1, says: 'no config.json', why: 'model folder without config.json' },
    { args: ['predict', '--task', 'sst2', '--data', SST2, '--out', `${tmp}/no/such/p.jsonl`], code: 1, says: `the folder ${tmp}/no/such does not exist`, why: '--out in a missing folder' },
    { args: ['predict', '--task', 'sst2', '--data', SST2, '--out', `${tmp}/a-folder`], code: 1, says: 'is a folder; give a file name', why: '--out is a folder' },
    { args: ['eval', '--task', 'mrpc', '--data', SST2], code: 1, says: "header has no '#1 String' column", why: 'data of another task' },
    { args: ['eval', '--task', 'sst2', '--data', SST2, '--model', TINY], code: 1, says: 'the task has 2 labels (0, 1) but the model has 3 classes', why: 'labels of another task (before the pass)' },
    { args: ['eval', '--task', 'mnli', '--data', MNLI, '--model', nan], code: 1, says: 'model.safetensors: tensor "classifier.bias" holds 1 non-finite value (of 3; the first, NaN, at index 1)', why: 'NaN weights' },
    { args: ['eval', '--task', 'mnli', '--data', MNLI, '--model', nan, '--allow-nonfinite'], code: 1, says: "the model's logits are NaN or infinite for 3 examples", why: 'NaN weights let through: no metric' },
    { args: ['predict', '--task', 'mnli', '--data', MNLI, '--model', nan, '--allow-nonfinite', '--out', `${tmp}/p.jsonl`], code: 1, says: "the model's logits are NaN or infinite", why: 'NaN weights let through: no predictions' },
    { args: ['eval', '--task', 'mnli', '--data', MNLI, '--model', inf], code: 1, says: 'tensor "bert.embeddings.word_embeddings.weight" holds 1 non-finite value (of 3200; the first, Infinity, at index 3173)', why: 'Inf in a row no input uses' },
    { args: ['eval', '--task', 'mnli', '--data', MNLI, '--model', bigVocab], code: 1, says: "the tokenizer has 101 tokens but config.json's vocab_size is 100", why: 'another model\'s tokenizer' },
    { args: ['eval', '--task', 'mnli', '--data', MNLI, '--model', fewerLayers], code: 1, says: "the checkpoint holds layers up to 1 but config.json's num_hidden_layers is 1", why: 'fewer layers than the weights' },
    { args: ['eval', '--task', 'mnli', '--data', MNLI, '--model', hugeLabels], code: 1, says: '"num_labels" is 2147483648, expected an integer from 1 to 1048576', why: 'num_labels 2^31 (used to hang)' },
    { args: ['eval', '--task', 'mnli', '--data', MNLI, '--model', regression], code: 1, says: 'problem_type "regression" with 3 labels', why: 'regression with 3 labels' },
    { args: ['eval', '--task', 'mnli', '--data', MNLI, '--model', wideFfn], code: 1, says: 'has 64 rows, but config.json declares an FFN of 128 neurons for layer 0', why: 'intermediate_size larger than the weights' },
    // prune's own checks belong to src/cli/prune.ts; the negative number reaches them (exit status theirs).
    { args: ['prune', '--task', 'sst2', '--samples', SST2, '--constraint', '-1'], code: null, says: 'wgprune prune: --constraint is the fraction of the MACs to keep, in (0, 1); got "-1"', why: 'negative constraint' },
  ];
  return { tmp, rows };
}

/** stderr without Dawn's two warnings and the progress lines of a model that did load. */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l && !/^Warning: maxDynamic|^(model|adapter|warning): /.test(l));

const t = gpuSuite('cli bad input');
let prepared: Awaited<ReturnType<typeof prepare>> | undefined;

t('every bad command line, file and model ends in its one line and exit status', async () => {
  if (!isNode) return skip('runs the CLI');
  prepared = await prepare();
  const fs = await import('node:fs/promises');
  const problems: string[] = [];
  for (const row of prepared.rows) {
    const r = await wgprune(...row.args);
    const lines = errorLines(r.stderr);
    const where = `${row.why}: wgprune ${row.args.join(' ')}`;
    if (row.code !== null && r.code !== row.code) problems.push(`${where}: exit ${r.code}, expected ${row.code}\n${r.stderr}`);
    if (r.code === 0) problems.push(`${where}: succeeded`);
    if (lines.length !== 1) problems.push(`${where}: ${lines.length} lines on stderr, expected one:\n${lines.join('\n')}`);
    const line = lines[0] ?? '';
    if (!(typeof row.says === 'string' ? line.includes(row.says) : row.says.test(line))) problems.push(`${where}: says\n  ${line}\nexpected\n  ${String(row.says)}`);
    if (!line.startsWith(`wgprune ${row.args[0]}: `) && !line.startsWith('wgprune: ')) problems.push(`${where}: the line does not start with "wgprune ${row.args[0]}: "`);
    if (/^\s+at /m.test(r.stderr)) problems.push(`${where}: a stack trace`);
    if (r.stdout.trim()) problems.push(`${where}: printed a result: ${r.stdout.trim().slice(0, 200)}`);
  }
  assert.equal((await fs.readdir(prepared.tmp)).filter((f) => f.endsWith('.jsonl') || f.startsWith('.')), [], 'no output or temporary file was written');
  assert.equal(await fs.readFile(`${prepared.tmp}/dev.tsv`, 'utf8'), await fs.readFile(SST2, 'utf8'), 'the data file is untouched');
  assert.ok(!problems.length, `${problems.length} of ${prepared.rows.length} rows:\n${problems.join('\n')}`);
});

t('--debug adds the stack trace, wherever it is written', async () => {
  if (!isNode) return skip('runs the CLI');
  const r = await wgprune('eval', '--debug', '--task', 'sst2', '--data', SST2, '--limit', 'x');
  assert.is(r.code, 2);
  assert.match(r.stderr, 'wgprune eval: --limit must be a positive whole number, got "x"');
  assert.match(r.stderr, /UsageError: --limit must be a positive whole number[^\n]*\n\s+at /);
});

t('the model loads when its non-finite values are allowed and never used', async () => {
  if (!isNode) return skip('runs the CLI');
  const r = await wgprune('eval', '--task', 'mnli', '--data', MNLI, '--model', `${prepared!.tmp}/inf-unused-row`, '--allow-nonfinite', '--json');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, 'warning: tensor "bert.embeddings.word_embeddings.weight" holds 1 non-finite value of 3200 (loaded: --allow-nonfinite)');
  assert.is((JSON.parse(r.stdout) as { examples: number }).examples, 3);
});

t('Ctrl-C stops predict with status 130 and leaves nothing behind', async () => {
  if (!isNode) return skip('runs the CLI');
  const { spawn } = await import('node:child_process');
  const fs = await import('node:fs/promises');
  const dir = `${prepared!.tmp}/interrupted`;
  await fs.mkdir(dir);
  const child = spawn(process.execPath, ['dist/cli.js', 'predict', '--task', 'sst2', '--data', 'data/glue/SST-2/dev.tsv', '--out', `${dir}/p.jsonl`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const loaded = new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => { stderr += d; if (stderr.includes('adapter:')) resolve(); }));
  const closed = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  await Promise.race([loaded, closed]);
  child.kill('SIGINT');
  const end = await closed;
  // Killed by the signal (a shell reports 130), or exited with 130.
  assert.ok(end.signal === 'SIGINT' || end.code === 130, `ended with ${JSON.stringify(end)}\n${stderr}`);
  assert.equal(await fs.readdir(dir), [], 'no output, no temporary file');
  await fs.rm(prepared!.tmp, { recursive: true, force: true });
});

t.run();
