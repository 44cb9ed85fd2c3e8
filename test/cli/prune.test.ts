import * as assert from 'uvu/assert';
import { wgprune } from '../helpers/cli.js';
import { gpuSuite, skip } from '../helpers/gpu.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const samples = 'data/glue/SST-2/train-2048.tsv';
const dev = 'test/fixtures/data/glue/SST-2/dev.tsv'; // the first 30 SST-2 dev sentences


interface MasksFile { constraint: number; seqLen: number; samples: number; macsFraction: number; heads: number[][]; neurons: number[][]; dev: { full: { accuracy: number }; pruned: { accuracy: number }; agreement: number; meanKL: number } }

const t = gpuSuite('cli prune');

t('prune keeps the bundled model within the MACs budget and writes its masks atomically', async () => {
  if (!isNode) return skip('runs the CLI');
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const dir = await fs.mkdtemp(`${os.tmpdir()}/wgprune-`);
  const out = `${dir}/masks.json`;
  const r = await wgprune('prune', '--task', 'sst2', '--samples', samples, '--sample-count', '64', '--constraint', '0.5', '--data', dev, '--out', out);
  assert.is(r.code, 0, r.stderr);
  const m = JSON.parse(await fs.readFile(out, 'utf8')) as MasksFile;
  assert.is(m.samples, 64);
  assert.is(m.seqLen, 25.16, 'the reference code\'s SST-2 length');
  assert.ok(m.macsFraction <= 0.5 && m.macsFraction > 0.45, `MACs kept: ${m.macsFraction}`);
  // sst2-mini: 4 layers of 8 heads and 1,024 neurons; MACs at 25.16 tokens, as flops.ts counts them.
  const heads = m.heads.flat().reduce((a, b) => a + b, 0), neurons = m.neurons.flat().reduce((a, b) => a + b, 0);
  assert.equal(m.heads.map((l) => l.length), [8, 8, 8, 8]);
  assert.equal(m.neurons.map((l) => l.length), [1024, 1024, 1024, 1024]);
  const s = 25.16, d = 256, headMacs = 4 * s * d * 32 + 2 * s * s * 32, neuronMacs = 2 * s * d;
  assert.ok(Math.abs(m.macsFraction - (heads * headMacs + neurons * neuronMacs) / (32 * headMacs + 4096 * neuronMacs)) < 1e-12);
  assert.ok(m.dev.agreement >= 0 && m.dev.agreement <= 1 && m.dev.meanKL >= 0, JSON.stringify(m.dev));
  assert.match(r.stdout, /kept: +\d+\.\d% of the encoder's MACs \(limit 50\.0%\)/);
  assert.equal((await fs.readdir(dir)).sort(), ['masks.json'], 'no temporary file left');
  await fs.rm(dir, { recursive: true });
});

t('prune refuses a constraint outside (0, 1), missing flags, question answering, and a missing file', async () => {
  if (!isNode) return skip('runs the CLI');
  for (const c of ['0', '1', '1.5', '-0.2', 'half']) {
    const r = await wgprune('prune', '--task', 'sst2', '--samples', samples, `--constraint=${c}`);
    assert.is(r.code, 1);
    assert.match(r.stderr, `--constraint is the fraction of the MACs to keep, in (0, 1); got "${c}"`);
  }
  const missing = await wgprune('prune', '--task', 'sst2', '--constraint', '0.5');
  assert.match(missing.stderr, '--task, --samples and --constraint are required');
  const squad = await wgprune('prune', '--task', 'squad', '--samples', samples, '--constraint', '0.5');
  assert.match(squad.stderr, 'question answering is not supported yet');
  const nofile = await wgprune('prune', '--task', 'sst2', '--samples', 'no/such/train.tsv', '--constraint', '0.5');
  assert.is(nofile.code, 1);
  assert.match(nofile.stderr, 'no/such/train.tsv');
});

t.run();
