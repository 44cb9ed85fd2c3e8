// npm run bench -- --gpu-check: everything worth knowing about a new adapter in one command,
// meant to fit in about five minutes on a machine with a GPU: the adapter, the kernel tests'
// float64 checks on it, the matmul bench (default and Fisher shapes) and the Fisher bench
// against their peers, and a BERT-base-shaped prune with each step's time; then a summary
// block to paste into the README. The benches run as child processes of this same script
// (one crash or a leak of device memory stays in its child), the prune in this process.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { progress } from '../src/cli/common.js';
import { readGlueTsv } from '../src/data/files.js';
import { loadTokenizerFromDir } from '../src/io/tokenizer-files.js';
import { parseConfig } from '../src/models/config.js';
import { EncoderModel } from '../src/models/model.js';
import { seededRandom } from '../src/data/batch.js';
import { averageSequenceLength } from '../src/prune/flops.js';
import { pruneModel } from '../src/prune/pipeline.js';
import { sampleBatches } from '../src/prune/samples.js';
import { describeAdapter } from '../src/runtime/gpu.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { markdownFisher, type FisherRecord } from './fisher.js';
import { markdownSummary, type Record as BenchRecord } from './measure.js';
import { bertBase, randomSource } from './random-bert.js';

export interface GpuCheckOptions {
  /** Samples of the BERT-base-shaped prune (the method's 2,048 by default). */
  samples: number;
  /** Least time per matmul benchmark, ms. */
  timeMs: number;
  /** Passed on to the matmul bench (--filter, --kernel, --no-peers) and the Fisher bench (--fisher-samples, --fisher-big-samples, --no-peers). */
  matmulArgs: string[];
  fisherArgs: string[];
  constraint: number;
}

// Both dist/bench/run.js and a bundle in scratch/x/ sit two folders below the repository root.
const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `args` with this Node, its output shown as it comes; resolves with the exit status and the last lines. */
function run(args: string[]): Promise<{ status: number; tail: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      process.stdout.write(d);
      text = (text + d.toString()).slice(-20_000);
    });
    child.on('close', (code, signal) => resolve({ status: code ?? (signal ? 128 : 1), tail: text.split('\n').filter(Boolean).slice(-40) }));
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function gpuCheck({ samples, timeMs, matmulArgs, fisherArgs, constraint }: GpuCheckOptions): Promise<number> {
  const start = performance.now();
  const problems: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'wgprune-gpu-check-'));
  const summary: string[] = [];
  try {
    // 1. The adapter.
    const rt = await createRuntime();
    const adapter = describeAdapter(rt.adapter), l = rt.limits;
    const features = Object.entries(rt.features).filter(([, on]) => on).map(([f]) => f).join(', ') || 'none';
    rt.destroy();
    const machine = `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${availableParallelism()} cores; Node ${process.version}`;
    console.log(`== adapter: ${adapter}`);
    console.log(`   limits: ${l.maxStorageBufferBindingSize / 2 ** 20} MiB per storage binding, ${l.maxComputeInvocationsPerWorkgroup} invocations and ${l.maxComputeWorkgroupStorageSize / 1024} KiB shared memory per workgroup, textures of ${l.maxTextureDimension2D} texels a side; features: ${features}`);
    console.log(`   machine: ${machine}`);
    if (rt.adapter.software) console.log('   (a software adapter: this is a dry run of the check, not a GPU measurement)');

    // 2. The kernel tests' float64 checks, on this adapter (the built files: npm run bench builds first).
    console.log('\n== kernel tests: node scripts/test.mjs test/ops test/runtime --node-only');
    let testLine = 'not run';
    if (!existsSync(join(root, 'dist/test/node/ops'))) {
      testLine = 'not run: dist/test/node/ops is missing (npm run bench builds it; or node scripts/build.mjs)';
      problems.push(`kernel tests ${testLine}`);
      console.log(testLine);
    } else {
      const t = await run([join(root, 'scripts/test.mjs'), 'test/ops', 'test/runtime', '--node-only']);
      testLine = t.tail.map((s) => s.replace(/\x1b\[[0-9;]*m/g, '')).reverse().find((s) => /\d+ passed, \d+ failed/.test(s))?.trim() ?? `no summary line (exit ${t.status})`;
      if (t.status !== 0) problems.push(`kernel tests: ${testLine}`);
    }

    // 3. The matmul bench, default and Fisher shapes, with its peers.
    const self = process.argv[1]!;
    console.log('\n== matmul: default and Fisher shapes');
    const matmulJson = join(dir, 'matmul.json');
    const m = await run([self, '--shapes', 'default,fisher', '--time', String(timeMs), '--json', matmulJson, ...matmulArgs]);
    if (m.status !== 0) problems.push(`matmul bench exited with ${m.status}`);
    const matmulRecords: BenchRecord[] = existsSync(matmulJson) ? JSON.parse(readFileSync(matmulJson, 'utf8')) as BenchRecord[] : [];

    // 4. The Fisher bench with its peers.
    console.log('\n== Fisher pass: sst2-mini and a BERT-base-shaped model, against TF.js and PyTorch');
    const fisherJson = join(dir, 'fisher.json');
    const f = await run([self, '--fisher', '--json', fisherJson, ...fisherArgs]);
    if (f.status !== 0) problems.push(`Fisher bench exited with ${f.status}${f.status === 1 ? ' (a peer failed or disagreed; see above)' : ''}`);
    const fisherRecords: FisherRecord[] = existsSync(fisherJson) ? JSON.parse(readFileSync(fisherJson, 'utf8')) as FisherRecord[] : [];

    // 5. A BERT-base-shaped prune.
    console.log(`\n== prune: BERT-base-shaped model (random weights), ${samples} SST-2 sentences, constraint ${constraint}`);
    const prune = await benchBigPrune(samples, constraint);

    summary.push(
      `GPU check, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${((performance.now() - start) / 1000).toFixed(0)} s in all.`,
      '', `Adapter: ${adapter}; ${machine}.${rt.adapter.software ? ' A software adapter: a dry run of the check, not a GPU measurement.' : ''}`, `Limits: ${l.maxStorageBufferBindingSize / 2 ** 20} MiB per storage binding, ${l.maxComputeInvocationsPerWorkgroup} invocations per workgroup; features: ${features}.`,
      '', `Kernel tests (test/ops, test/runtime, float64 references, Node): ${testLine}.`,
      '', 'Matmul, median GFLOP/s:', '', markdownSummary(matmulRecords).trim() || '(no records)',
      '', 'Fisher pass (per-example mask gradients, the diagonal read back; tokens per second of real tokens):', '', fisherRecords.length ? markdownFisher(fisherRecords) : '(no records)',
      '', prune,
    );
  } catch (err) {
    problems.push(`the check stopped: ${(err as Error).stack ?? String(err)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\n---- summary (markdown, for the README) ----\n');
  console.log(summary.join('\n'));
  console.log('\n---- end of summary ----');
  if (problems.length) console.log(`\nproblems:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return problems.length ? 1 : 0;
}

/**
 * pruneModel on a BERT-base-shaped model with random weights over `samples` SST-2 training
 * sentences: a random model has no task, so the labels are random (seeded) too; the times
 * and sizes are what is measured. Returns the summary's paragraph.
 */
async function benchBigPrune(samples: number, constraint: number): Promise<string> {
  const rt = await createRuntime();
  try {
    let t0 = performance.now();
    const config = parseConfig(bertBase);
    const model = await EncoderModel.load(rt, config, randomSource(bertBase));
    const tLoad = performance.now() - t0;
    t0 = performance.now();
    const tokenizer = await loadTokenizerFromDir(join(root, 'models/sst2-mini'), 'bert');
    const data = await readGlueTsv('sst2', join(root, 'data/glue/SST-2/train-2048.tsv'));
    const rand = seededRandom(1);
    const randomLabels = { ...data, examples: data.examples.map((e) => ({ ...e, label: rand() < 0.5 ? 0 : 1 })) };
    const { batches } = sampleBatches(config, tokenizer, randomLabels, { count: samples, seed: 0 });
    const tSample = performance.now() - t0;
    const examples = batches.reduce((s, b) => s + b.tokens.batch, 0);
    console.log(`model made in ${seconds(tLoad)}; ${examples} sentences (random labels: the model is random) in ${batches.length} batches in ${seconds(tSample)}`);
    const bars = { fisher: progress('batches (Fisher)'), tune: progress('sub-layers (tuning)') };
    t0 = performance.now();
    const r = await pruneModel(model, batches, bertBase, {
      constraint, seqLen: averageSequenceLength['SST-2']!, onProgress: (step, done, total) => bars[step](done, total),
    });
    const total = performance.now() - t0;
    model.dispose();
    const t = r.timings;
    const kept = (m: number[][]) => m.flat().filter((v) => v !== 0).length;
    const line = `BERT-base-shaped prune (random weights; ${examples} SST-2 sentences with random labels; constraint ${constraint} of the MACs): ` +
      `${seconds(total)} in all: Fisher ${seconds(t.fisher)}, search ${seconds(t.search)}, rearrangement ${seconds(t.rearrange)}, tuning ${seconds(t.tune)}, export ${seconds(t.export)} ` +
      `(model made in ${seconds(tLoad)}, sentences tokenized in ${seconds(tSample)}); ${kept(r.masks.head)} of ${config.layers * config.heads} heads and ${kept(r.masks.neuron)} of ${config.layers * config.intermediate} neurons kept; ` +
      `max RSS of the process ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB.`;
    console.log(line);
    return line;
  } finally {
    rt.destroy();
  }
}
