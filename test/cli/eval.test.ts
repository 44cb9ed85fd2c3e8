import * as assert from 'uvu/assert';
import { wgprune } from '../helpers/cli.js';
import { gpuSuite, skip } from '../helpers/gpu.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const sst2 = 'test/fixtures/data/glue/SST-2/dev.tsv'; // the first 30 SST-2 dev sentences


const t = gpuSuite('cli');

t('eval scores the bundled model on SST-2 as PyTorch does', async () => {
  if (!isNode) return skip('runs the CLI');
  const fs = await import('node:fs/promises');
  const ref = (await fs.readFile('models/sst2-mini/reference/logits.jsonl', 'utf8')).trim().split('\n').slice(0, 30).map((l) => JSON.parse(l) as { pred: number; label: number });
  const expected = ref.filter((r) => r.pred === r.label).length / 30;
  const r = await wgprune('eval', '--task', 'sst2', '--data', sst2, '--json');
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { examples: number; metrics: { accuracy: number } };
  assert.is(out.examples, 30);
  assert.is(out.metrics.accuracy, expected);
});

t('eval reproduces PyTorch\'s SST-2 dev accuracy of the bundled model: 0.8142, 710 of 872', async () => {
  if (!isNode) return skip('runs the CLI');
  const r = await wgprune('eval', '--task', 'sst2', '--data', 'data/glue/SST-2/dev.tsv', '--json');
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { examples: number; metrics: { accuracy: number } };
  assert.is(out.examples, 872);
  assert.is(Math.round(out.metrics.accuracy * 872), 710);
});

t('WGPRUNE_PROFILE=1 ends a command with the device time of its slowest kernels, on stderr', async () => {
  if (!isNode) return skip('runs the CLI');
  process.env.WGPRUNE_PROFILE = '1';
  let r: Awaited<ReturnType<typeof wgprune>>;
  try {
    r = await wgprune('eval', '--task', 'sst2', '--data', sst2, '--limit', '4', '--json');
  } finally {
    delete process.env.WGPRUNE_PROFILE;
  }
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /profile: \d+ ms of device time in \d+ launches \(WGPRUNE_PROFILE=1\)/);
  assert.match(r.stderr, /ms +[\d.]+% +\d+ x {2}matmul\[/, 'a matmul among the kernels, with its time, share and launches');
  assert.is((JSON.parse(r.stdout) as { examples: number }).examples, 4, 'stdout stays the command\'s');
});

t('predict writes PyTorch\'s logits as JSON lines, atomically', async () => {
  if (!isNode) return skip('runs the CLI');
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const dir = await fs.mkdtemp(`${os.tmpdir()}/wgprune-`);
  const out = `${dir}/pred.jsonl`;
  const r = await wgprune('predict', '--task', 'sst2', '--data', sst2, '--out', out, '--limit', '5');
  assert.is(r.code, 0, r.stderr);
  const lines = (await fs.readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { logits: number[] });
  const ref = (await fs.readFile('models/sst2-mini/reference/logits.jsonl', 'utf8')).trim().split('\n').slice(0, 5).map((l) => JSON.parse(l) as { logits: number[] });
  assert.is(lines.length, 5);
  lines.forEach((l, i) => l.logits.forEach((v, j) => assert.ok(Math.abs(v - ref[i]!.logits[j]!) < 1e-4 * (Math.abs(ref[i]!.logits[j]!) + 0.1), `example ${i}`)));
  assert.equal((await fs.readdir(dir)).sort(), ['pred.jsonl'], 'no temporary file is left');
  await fs.rm(dir, { recursive: true });
});

t('bad input fails with a message naming the problem', async () => {
  if (!isNode) return skip('runs the CLI');
  let r = await wgprune('eval', '--task', 'nope', '--data', sst2);
  assert.is(r.code, 2, 'a bad option value is a usage error');
  assert.match(r.stderr, 'wgprune eval: --task "nope" is not a task');
  r = await wgprune('eval', '--task', 'mrpc', '--data', sst2);
  assert.is(r.code, 1);
  assert.match(r.stderr, "header has no '#1 String' column");
  r = await wgprune('eval', '--task', 'sst2', '--data', sst2, '--model', 'test/fixtures/checkpoints');
  assert.is(r.code, 1);
  assert.match(r.stderr, 'config.json');
});

t.run();
