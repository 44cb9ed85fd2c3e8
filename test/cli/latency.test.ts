import * as assert from 'uvu/assert';
import { wgprune } from '../helpers/cli.js';
import { gpuSuite, skip } from '../helpers/gpu.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const samples = 'data/glue/SST-2/train-2048.tsv';

const t = gpuSuite('cli latency');

t('latency, lut, and prune --metric latency with the table: within its budget by the table, measured faster, mismatched tables refused', async () => {
  if (!isNode) return skip('runs the CLI');
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const dir = await fs.mkdtemp(`${os.tmpdir()}/wgprune-lat-`);
  const l = await wgprune('latency', '--batch', '2', '--seq', '16', '--json');
  assert.is(l.code, 0, l.stderr);
  const lat = JSON.parse(l.stdout) as { medianMs: number; minMs: number; maxMs: number; batch: number; seq: number; adapter: string };
  assert.ok(lat.medianMs > 0 && lat.minMs <= lat.medianMs && lat.medianMs <= lat.maxMs && lat.batch === 2 && lat.seq === 16);
  const badSeq = await wgprune('latency', '--seq', '129');
  assert.is(badSeq.code, 1);
  assert.match(badSeq.stderr, 'an integer in 1..128');

  const lut = `${dir}/lut.json`;
  const m = await wgprune('lut', '--out', lut, '--seq', '16', '--ffn-step', '256');
  assert.is(m.code, 0, m.stderr);
  const table = JSON.parse(await fs.readFile(lut, 'utf8')) as { adapter: string; shape: { hidden: number; heads: number; intermediate: number; seq: number }; attention: { kept: number }[]; ffn: { kept: number }[] };
  assert.equal(table.shape, { hidden: 256, heads: 8, intermediate: 1024, batch: 1, seq: 16 });
  assert.equal(table.attention.map((p) => p.kept), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(table.ffn.map((p) => p.kept), [0, 256, 512, 768, 1024]);
  assert.is(table.adapter, lat.adapter);

  const out = `${dir}/pruned`;
  const p = await wgprune('prune', '--task', 'sst2', '--samples', samples, '--sample-count', '32', '--constraint', '0.5', '--metric', 'latency', '--lut', lut, '--out', out);
  assert.is(p.code, 0, p.stderr);
  const report = JSON.parse(await fs.readFile(`${out}/report.json`, 'utf8')) as { metric: string; latencyTable: { predicted: { fraction: number } }; latency: { batch: number; seq: number; ratio: number } };
  assert.is(report.metric, 'latency');
  assert.ok(report.latencyTable.predicted.fraction <= 0.5 + 1e-9, `table's latency ${report.latencyTable.predicted.fraction} within 0.5`);
  assert.equal([report.latency.batch, report.latency.seq], [1, 16], 'measured at the table\'s shape');
  assert.ok(report.latency.ratio > 0, JSON.stringify(report.latency));

  // A table for another adapter is refused before the Fisher pass, or used with --force-lut.
  await fs.writeFile(`${dir}/other.json`, JSON.stringify({ ...table, adapter: 'some other GPU' }));
  const refused = await wgprune('prune', '--task', 'sst2', '--samples', samples, '--sample-count', '32', '--constraint', '0.5', '--metric', 'latency', '--lut', `${dir}/other.json`);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, 'measured on "some other GPU", this is');
  assert.not.match(refused.stdout, 'kept:');
  const forced = await wgprune('prune', '--task', 'sst2', '--samples', samples, '--sample-count', '32', '--constraint', '0.5', '--metric', 'latency', '--lut', `${dir}/other.json`, '--force-lut', '--no-tune');
  assert.is(forced.code, 0, forced.stderr);
  assert.match(forced.stderr, 'used anyway (--force-lut)');
  const noMetric = await wgprune('prune', '--task', 'sst2', '--samples', samples, '--constraint', '0.5', '--lut', lut);
  assert.match(noMetric.stderr, '--lut is the latency table of --metric latency');
  const broken = await wgprune('prune', '--task', 'sst2', '--samples', samples, '--constraint', '0.5', '--metric', 'latency', '--lut', samples);
  assert.match(broken.stderr, 'not JSON; make a latency table with `wgprune lut`');
  await fs.rm(dir, { recursive: true });
});

t.run();
