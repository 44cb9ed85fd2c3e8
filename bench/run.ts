// npm run bench [-- options]: our matmul against its peers on the same adapter, in Node
// (Dawn), and with --browser in headless Chromium too (scripts/bench-browser.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { describeAdapter } from '../src/runtime/gpu.js';
import { createRuntime } from '../src/runtime/runtime.js';
import type { MatmulKernel } from '../src/ops/matmul.js';
import { matmulCases, matmulJobs, shapeSets } from './matmul.js';
import { combineRounds, formatSummary, formatTable, markdownSummary, measure, type Job, type Record } from './measure.js';
import { ortNodeJobs } from './peers/ort-node.js';
import { ortWebJobs } from './peers/ort-web.js';
import { tfjsJobs } from './peers/tfjs.js';
import type { PeerSetup } from './peers/types.js';
import { settle } from './settle.js';
import { modelJobs } from './model.js';
import { solveJobs } from './solve.js';
import { copyFractions, measureInterleaved, opJobs } from './ops.js';
import { benchPrune } from './prune.js';
import { benchFisher, fisherPeers, markdownFisher } from './fisher.js';
import { shareDawnWithPeers } from './adapter.js';
import { gpuCheck } from './gpu-check.js';
import { benchLatency, type LoadSst2Mini } from './latency.js';
import { openCheckpointDirectory } from '../src/io/node.js';
import { loadModel } from '../src/models/load.js';

const usage = `usage: npm run bench -- [options]
  --json FILE      write every record (all implementations, both hosts with --browser) as JSON
  --time MS        least time per benchmark, in ms (default 2000; at least 5 samples each)
  --repeat N       measure everything N times, round after round, and report the median
                   of the rounds' medians (default 1; a shared machine is noisy)
  --filter TEXT    only the benchmarks whose 'name shape' contains TEXT (e.g. 3072, QK, solve)
  --shapes LIST    the matmul shapes, comma-separated: default (BERT-base's projections at 512
                   tokens, one QKᵀ), fisher (what the Fisher pass runs: M = 32 to 4,096 rows,
                   K and N of 64 to 3,072, x Wᵀ forward, dy W backward, attention's QKᵀ, PV and
                   Pᵀ dC batched over 32 x 12 heads), or all
  --kernel NAME    the matmul kernel to use where the shape allows: texture, subgroup or
                   general (default: the runtime's choice for the adapter; see src/ops/matmul.ts)
  --peers LIST     peers to measure beside wgprune, comma-separated (default: all):
                   tfjs-webgpu, ort-web-webgpu, ort-node-cpu (also: tfjs, ort-web, ort-node, none)
  --no-peers       wgprune alone (same as --peers none)
  --browser        then the same in headless Chromium (scripts/bench-browser.mjs)
  --markdown       also print the results as markdown tables (for the README)
  --ops            also time attention (batch 32 x seq 128 x 12 heads; GFLOP/s) and the
                   memory-bound ops, LayerNorm, softmax, GELU (GB/s), at BERT-base shapes
  --models         also time whole forwards at seq 128: a random BERT-base (batch 1) and the
                   bundled sst2-mini (batch 8); sequences/s = GFLOP/s / the printed GFLOP
  --solve          also time the damped solve of mask tuning at k = 256 .. 3,072: float64
                   Cholesky on the CPU against the blocked solve with device updates
  --prune          only the pruning pipeline on sst2-mini with 2,048 samples: each step's wall
                   time, and dev accuracy, agreement and KL to the unpruned model after the
                   search, the rearrangement and tuning, and for random masks, at 0.4-0.6
  --latency        only the latency of pruned models against the unpruned one: sst2-mini
                   and a BERT-base-shaped model, pruned to 0.4-0.7 of the MACs and of the
                   latency, at sequence length 128 (--latency-batches 1,32 for sst2-mini;
                   BERT-base at --latency-big-batches 1; --latency-models sst2-mini,bert-base);
                   with --browser, then in headless Chromium (sst2-mini at batch 1 by default)
  --fisher         only the Fisher pass (per-example head and neuron mask gradients, squared and
                   summed: fisherInformation) of sst2-mini and of a BERT-base-shaped model with
                   random weights over SST-2 training sentences batched as the prune does, in
                   real tokens per second: wgprune, TF.js's WebGPU autograd (tf.grads) of the
                   same masked model on the same adapter, and PyTorch on the CPU when a Python
                   with torch is found ($WGPRUNE_PYTHON, python3, /usr/bin/python3); each
                   peer's diagonal must agree with ours within 1e-3 of its largest entry (exit
                   1 otherwise). --fisher-samples N (sst2-mini, default 256),
                   --fisher-big-samples N (BERT-base, default 64), --fisher-models LIST
                   (sst2-mini,bert-base), --peers tfjs-webgpu,pytorch-cpu, --json, --markdown
  --gpu-check      the check to run on a new adapter (about 5 min on a GPU): the adapter, the
                   kernel tests (test/ops, test/runtime) on it, the matmul bench (--shapes
                   default,fisher, --time 300 unless given) and --fisher with their peers, and
                   a BERT-base-shaped prune (random weights, SST-2 sentences with random
                   labels, constraint 0.5) with each step's time; ends with a summary to paste
                   into the README. --gpu-check-samples N: the prune's samples (default 2,048;
                   fewer for a dry run on a software adapter); --filter, --kernel, --time,
                   --no-peers and the --fisher-* options are passed on
  --ort-tier-up    let V8 optimise ORT Web's WebAssembly with TurboFan, its default (here it
                   stays on Liftoff: TurboFan spends 1-3 min of a core on it before measuring)`;

// A wrong option is one line and the usage, exit 2, not parseArgs' stack trace.
function parseOptions() {
  try {
    return parseArgs({
    options: {
      json: { type: 'string' },
      time: { type: 'string', default: '2000' },
      filter: { type: 'string' },
      shapes: { type: 'string', default: 'default' },
      kernel: { type: 'string' },
      repeat: { type: 'string', default: '1' },
      peers: { type: 'string', default: 'all' },
      'no-peers': { type: 'boolean', default: false },
      browser: { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      ops: { type: 'boolean', default: false },
      models: { type: 'boolean', default: false },
      solve: { type: 'boolean', default: false },
      prune: { type: 'boolean', default: false },
      latency: { type: 'boolean', default: false },
      fisher: { type: 'boolean', default: false },
      'fisher-samples': { type: 'string', default: '256' },
      'fisher-big-samples': { type: 'string', default: '64' },
      'fisher-models': { type: 'string', default: 'sst2-mini,bert-base' },
      'gpu-check': { type: 'boolean', default: false },
      'gpu-check-samples': { type: 'string', default: '2048' },
      'latency-batches': { type: 'string', default: '1,32' },
      'latency-models': { type: 'string', default: 'sst2-mini,bert-base' },
      'latency-big-batches': { type: 'string', default: '1' },
      'ort-tier-up': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  } catch (e) {
    console.error(`${(e as Error).message.split('\n')[0]}\n${usage}`);
    process.exit(2);
  }
}
const { values } = parseOptions();
if (values.help) {
  console.log(usage);
  process.exit(0);
}
if (values['gpu-check']) {
  const samples = Number(values['gpu-check-samples']);
  if (!Number.isInteger(samples) || samples < 1) {
    console.error(`--gpu-check-samples wants a positive integer, got '${values['gpu-check-samples']}'\n${usage}`);
    process.exit(2);
  }
  // What the children take from this command line: only the options given.
  const given = (name: string) => process.argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  const pass = (names: string[]) => names.filter(given).flatMap((n) => (typeof values[n as keyof typeof values] === 'boolean' ? [`--${n}`] : [`--${n}`, String(values[n as keyof typeof values])]));
  process.exit(await gpuCheck({
    samples, constraint: 0.5, timeMs: given('time') ? Number(values.time) : 300,
    matmulArgs: pass(['filter', 'kernel', 'no-peers']),
    fisherArgs: pass(['fisher-samples', 'fisher-big-samples', 'fisher-models', 'no-peers']),
  }));
}
if (values.prune) {
  await benchPrune();
  process.exit(0);
}
if (values.fisher) {
  const count = (flag: 'fisher-samples' | 'fisher-big-samples') => {
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n < 1) {
      console.error(`--${flag} wants a positive integer, got '${values[flag]}'\n${usage}`);
      process.exit(2);
    }
    return n;
  };
  const chosen = values['no-peers'] || values.peers === 'none' ? [] : values.peers === 'all' ? [...fisherPeers] : values.peers!.split(',').map((s) => {
    const name = fisherPeers.find((p) => p === s.trim() || p.startsWith(`${s.trim()}-`));
    if (!name) {
      console.error(`--fisher takes the peers ${fisherPeers.join(', ')} (or tfjs, pytorch), not '${s}'\n${usage}`);
      process.exit(2);
    }
    return name;
  });
  const fisherModels = values['fisher-models']!.split(',').map((s) => s.trim());
  if (!fisherModels.length || fisherModels.some((m) => m !== 'sst2-mini' && m !== 'bert-base')) {
    console.error(`--fisher-models takes sst2-mini and bert-base, comma-separated; not '${values['fisher-models']}'\n${usage}`);
    process.exit(2);
  }
  const { records, ok } = await benchFisher({ samples: count('fisher-samples'), bigSamples: count('fisher-big-samples'), models: fisherModels, peers: chosen });
  if (values.markdown) console.log(`\n${markdownFisher(records)}`);
  if (values.json) {
    writeFileSync(values.json, JSON.stringify(records, null, 2) + '\n');
    console.log(`wrote ${records.length} records to ${values.json}`);
  }
  process.exit(ok ? 0 : 1);
}
if (values.latency) {
  const rtLatency = await createRuntime();
  console.log(`adapter: ${describeAdapter(rtLatency.adapter)}`);
  const loadSst2Mini: LoadSst2Mini = async (rt) => {
    const ck = await openCheckpointDirectory('models/sst2-mini');
    const m = await loadModel(rt, ck);
    await ck.close();
    return { model: m.model, json: ck.config };
  };
  await benchLatency(rtLatency, { batches: values['latency-batches']!.split(',').map(Number), bigBatches: values['latency-big-batches']!.split(',').map(Number), models: values['latency-models']!.split(','), loadSst2Mini });
  rtLatency.destroy();
  if (values.browser) {
    // In headless Chromium too; there the defaults are sst2-mini at batch 1 (SwiftShader is
    // slow), unless the options are given.
    const script = fileURLToPath(new URL('../../scripts/bench-browser.mjs', import.meta.url));
    const args = [script, '--latency'];
    for (const o of ['latency-batches', 'latency-big-batches', 'latency-models'] as const) {
      if (process.argv.some((a) => a === `--${o}` || a.startsWith(`--${o}=`))) args.push(`--${o}`, values[o]!);
    }
    console.log('\n--- headless Chromium');
    const child = spawnSync(process.execPath, args, { stdio: 'inherit' });
    process.exit(child.status ?? 1);
  }
  process.exit(0);
}

const allPeers = ['tfjs-webgpu', 'ort-web-webgpu', 'ort-node-cpu'] as const;
type PeerName = (typeof allPeers)[number];
function parsePeers(list: string): PeerName[] {
  if (values['no-peers'] || list === 'none' || list === '') return [];
  if (list === 'all') return [...allPeers];
  return list.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const name = allPeers.find((p) => p === s || p.startsWith(`${s}-`));
    if (!name) {
      console.error(`unknown peer '${s}'\n${usage}`);
      process.exit(2);
    }
    return name;
  });
}
const peers = parsePeers(values.peers);
const timeMs = Number(values.time), repeat = Number(values.repeat);
if (!(timeMs > 0) || !Number.isInteger(repeat) || repeat < 1) {
  console.error(`--time wants a positive number of ms, --repeat a positive integer\n${usage}`);
  process.exit(2);
}

const kernels = ['texture', 'subgroup', 'general'];
if (values.kernel !== undefined && !kernels.includes(values.kernel)) {
  console.error(`--kernel takes ${kernels.join(', ')}\n${usage}`);
  process.exit(2);
}
const shapeSetNames = values.shapes === 'all' ? Object.keys(shapeSets) : values.shapes!.split(',').map((s) => s.trim()).filter(Boolean);
const unknownSet = shapeSetNames.find((s) => !shapeSets[s]);
if (unknownSet !== undefined || !shapeSetNames.length) {
  console.error(`--shapes takes ${Object.keys(shapeSets).join(', ')} or all, comma-separated; not '${values.shapes}'\n${usage}`);
  process.exit(2);
}
const rt = await createRuntime(values.kernel ? { tuning: { matmulKernel: values.kernel as MatmulKernel } } : {});
const adapter = describeAdapter(rt.adapter);
console.log(`adapter: ${adapter}`);
const cases = matmulCases(values.filter, shapeSetNames);
if (!cases.length && !(values.ops || values.models || values.solve)) {
  console.error(`no benchmark matches '${values.filter}'`);
  process.exit(2);
}
const ours = matmulJobs(rt, cases, adapter, 'node');

// The WebGPU peers find the adapter at navigator.gpu: the same Dawn instance as ours.
if (peers.some((p) => p !== 'ort-node-cpu')) shareDawnWithPeers(rt.dawn);

// ORT Web's 27 MB WebAssembly module has a function on which V8's optimising compiler
// (TurboFan, in Node 20's V8) spends one to three minutes of a core in the background after
// the first session is created, time that would be stolen from the measurements (or waited
// out by settle() below). Liftoff, V8's baseline WebAssembly compiler, compiles it in a
// second. Only ORT's host-side code runs as WebAssembly (the products run on the GPU), and
// no difference in its samples showed beyond noise; --ort-tier-up restores V8's default.
const liftoff = peers.includes('ort-web-webgpu') && !values['ort-tier-up'];
if (liftoff) setFlagsFromString('--liftoff-only');

const setups: PeerSetup[] = [];
const skipped: string[] = [];
const setUp: { [K in PeerName]: () => Promise<PeerSetup> } = {
  'tfjs-webgpu': () => tfjsJobs(cases),
  'ort-web-webgpu': () => ortWebJobs(cases, liftoff ? { note: "ORT's WebAssembly on V8 Liftoff (see --ort-tier-up)" } : {}),
  'ort-node-cpu': () => ortNodeJobs(cases),
};
for (const name of peers) {
  const t0 = performance.now();
  try {
    setups.push(await setUp[name]());
    console.log(`${name} set up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    skipped.push(`${name}: ${why}`);
    console.log(`skipped peer ${name}: ${why}`);
  }
}
for (const s of setups) if (s.adapter !== adapter) console.log(`${s.implementation} runs on: ${s.adapter}`);
const waited = await settle();
if (waited > 2) console.log(`waited ${waited.toFixed(0)} s for background work to end (V8 compiling ORT's WebAssembly) before measuring`);

// Shape by shape, every implementation back to back, so that they see the same load.
const jobs: Job[] = cases.flatMap((mc) => [ours, ...setups].flatMap((s) => s.jobs.filter((j) => j.shape === mc.shape && j.benchmark === mc.benchmark)));
const rounds: Record[][] = [];
for (let i = 1; i <= repeat; i++) {
  if (repeat > 1) console.log(`round ${i} of ${repeat}`);
  rounds.push(await measure(jobs, { timeMs, log: (line) => { console.log(line); skipped.push(line.replace(/^skipped /, '')); } }));
}
let records: Record[] = combineRounds(rounds);
console.log('');
console.log(formatTable(records));

for (const s of setups) await s.dispose();
for (const t of ours.inputs) t.dispose();

if (values.browser) {
  const script = fileURLToPath(new URL('../../scripts/bench-browser.mjs', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'wgprune-bench-'));
  const file = join(dir, 'browser.json');
  const args = [script, '--time', String(timeMs), '--repeat', String(repeat), '--json', file, '--no-summary', '--peers', peers.filter((p) => p !== 'ort-node-cpu').join(',') || 'none'];
  if (values.filter) args.push('--filter', values.filter);
  if (values.kernel) args.push('--kernel', values.kernel);
  args.push('--shapes', shapeSetNames.join(','));
  console.log('\n--- headless Chromium');
  const child = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (child.status === 0 && existsSync(file)) records = [...records, ...(JSON.parse(readFileSync(file, 'utf8')) as Record[])];
  else skipped.push(`browser: scripts/bench-browser.mjs exited with ${child.status ?? child.signal}`);
  rmSync(dir, { recursive: true, force: true });
}

// Our other kernels and whole models, on the Node adapter (no peers).
if (values.ops || values.models || values.solve) {
  const extra: Job[] = [];
  const cleanup: (() => void)[] = [];
  if (values.ops) {
    const o = opJobs(rt, adapter);
    extra.push(...o.jobs);
    cleanup.push(() => { for (const t of o.inputs) t.dispose(); });
  }
  if (values.models) {
    const m = await modelJobs(rt, adapter);
    extra.push(...m.jobs);
    cleanup.push(() => { for (const model of m.models) model.dispose(); });
  }
  if (values.solve) extra.push(...solveJobs(rt, adapter));
  const chosen = extra.filter((j) => !values.filter || `${j.benchmark} ${j.shape}`.includes(values.filter));
  // The memory-bound ops and the copies they are compared with run interleaved, round by
  // round, so that a shared machine's load falls on all of them alike.
  const interleaved = values.ops ? chosen.filter((j) => j.unit === 'GB/s') : [];
  const rest = chosen.filter((j) => !interleaved.includes(j));
  const rs: Record[][] = [];
  for (let i = 0; i < repeat; i++) {
    rs.push([...await measure(rest, { timeMs, minSamples: 3 }), ...(interleaved.length ? await measureInterleaved(interleaved, { timeMs }) : [])]);
  }
  const measured = combineRounds(rs);
  console.log('');
  console.log(formatTable(measured));
  for (const r of measured) if (r.note) console.log(`  ${r.benchmark} ${r.shape}: ${r.note}`);
  if (interleaved.length) console.log(`\n${copyFractions(measured)}`);
  records = [...records, ...measured];
  for (const c of cleanup) c();
}

console.log('\nsummary (median GFLOP/s; ours/peer > 1 means wgprune is faster):');
console.log(formatSummary(records.filter((r) => r.unit === 'GFLOP/s')));
if (skipped.length) console.log(`\nnot measured:\n${skipped.map((s) => `  ${s}`).join('\n')}`);
if (values.markdown) console.log(`\n${markdownSummary(records)}`);
if (values.json) {
  writeFileSync(values.json, JSON.stringify(records, null, 2) + '\n');
  console.log(`wrote ${records.length} records to ${values.json}`);
}
rt.destroy();
