// npm run bench -- --fisher: the Fisher pass (per-example head and neuron mask gradients,
// their squares summed: fisherInformation, docs/method.md step 1) of sst2-mini and of a
// BERT-base-shaped model with random weights, over a fixed sample set of real SST-2
// sentences tokenized and batched as the prune does (src/prune/samples.ts), in tokens per
// second, for wgprune and its peers: the same masked model differentiated by TensorFlow.js's
// WebGPU backend on the same adapter, and PyTorch on the CPU when a Python with torch is
// there. Each peer's Fisher diagonal must agree with ours before its time is believed.
import { cpus } from 'node:os';
import { progress } from '../src/cli/common.js';
import { readGlueTsv } from '../src/data/files.js';
import { openCheckpointDirectory } from '../src/io/node.js';
import { loadTokenizerFromDir } from '../src/io/tokenizer-files.js';
import { parseConfig, type ModelConfig } from '../src/models/config.js';
import { weightSource } from '../src/models/load.js';
import { EncoderModel } from '../src/models/model.js';
import type { WeightSource } from '../src/models/weights.js';
import { fisherInformation, type SampleBatch } from '../src/prune/fisher.js';
import { sampleBatches } from '../src/prune/samples.js';
import { describeAdapter } from '../src/runtime/gpu.js';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { shareDawnWithPeers } from './adapter.js';
import type { Record as BenchRecord } from './measure.js';
import { readPlainBert } from './peers/bert-weights.js';
import { tfjsFisher, type FisherRun } from './peers/tfjs-fisher.js';
import { findTorchPython, torchFisher } from './peers/torch-fisher.js';
import { bertBase, randomSource } from './random-bert.js';

// The bench runs from the repository root (npm run bench).
const sst2Mini = 'models/sst2-mini', trainSentences = 'data/glue/SST-2/train-2048.tsv';

/** A peer's diagonal may differ from ours by this much, relative to the largest entry. */
export const fisherTolerance = 1e-3;

/** One implementation's Fisher pass of one model, as printed and as written by --json. */
export interface FisherRecord extends BenchRecord {
  unit: 'tokens/s';
  /** Real (unpadded) tokens of the sample set; `median` is these per second. */
  tokens: number;
  /** Tokens with padding, batch x seq summed over the batches. */
  paddedTokens: number;
  examples: number;
  batches: number;
  seconds: number;
  warmupSeconds: number;
  /** Peak resident memory: this process's so far (wgprune, TF.js), or the child's (PyTorch). */
  maxRssMiB: number;
  /** max |peer − wgprune| / max |wgprune|, heads and neurons; absent for wgprune. */
  diff?: { head: number; neuron: number };
}

export interface FisherOptions {
  /** Samples of sst2-mini's and of the BERT-base-shaped model's pass. */
  samples?: number;
  bigSamples?: number;
  /** 'sst2-mini', 'bert-base'. */
  models?: string[];
  /** 'tfjs-webgpu', 'pytorch-cpu'. */
  peers?: string[];
}

export const fisherPeers = ['tfjs-webgpu', 'pytorch-cpu'] as const;

/** max |a − b| / max |b|: an entry's error against the scale of the diagonal (tiny entries carry float32's rounding of big sums). */
function relativeDiff(a: Float64Array, b: Float64Array): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return a.length === b.length ? diff / (scale || 1) : Infinity;
}

const rssMiB = () => process.resourceUsage().maxRSS / 1024;

/** Loads sst2-mini or the random BERT-base: config, json and a weight source (open until close()). */
async function openBenchModel(name: string): Promise<{ json: Record<string, unknown>; source: WeightSource; close: () => Promise<void> }> {
  if (name === 'bert-base') return { json: bertBase, source: randomSource(bertBase), close: async () => {} };
  if (name !== 'sst2-mini') throw new Error(`--fisher-models: unknown model '${name}' (sst2-mini, bert-base)`);
  const ck = await openCheckpointDirectory(sst2Mini);
  return { json: ck.config, source: weightSource(ck), close: () => ck.close() };
}

/** Prints the adapter, progress (stderr), a table and the ratios; returns the records and whether every peer agreed. */
export async function benchFisher({ samples = 256, bigSamples = 64, models = ['sst2-mini', 'bert-base'], peers = [...fisherPeers] }: FisherOptions = {}): Promise<{ records: FisherRecord[]; ok: boolean }> {
  const rt = await createRuntime();
  const adapter = describeAdapter(rt.adapter);
  console.log(`adapter: ${adapter}`);
  if (peers.includes('tfjs-webgpu')) shareDawnWithPeers(rt.dawn);
  const torch = peers.includes('pytorch-cpu') ? findTorchPython() : undefined;
  if (torch && 'skipped' in torch) console.log(`PyTorch skipped: ${torch.skipped}`);
  const tokenizer = await loadTokenizerFromDir(sst2Mini, 'bert');
  const sentences = await readGlueTsv('sst2', trainSentences);
  const records: FisherRecord[] = [];
  const failures: string[] = [];
  try {
    for (const name of models) {
      const { json, source, close } = await openBenchModel(name);
      try {
        const config = parseConfig(json);
        const count = name === 'sst2-mini' ? samples : bigSamples;
        // SST-2's own labels, for the random model too: its gradients do not care.
        const { batches } = sampleBatches(config, tokenizer, sentences, { count, seed: 0 });
        const tokens = batches.reduce((s, b) => s + b.tokens.attentionMask.reduce((n, v) => n + v, 0), 0);
        const paddedTokens = batches.reduce((s, b) => s + b.tokens.batch * b.tokens.seq, 0);
        const examples = batches.reduce((s, b) => s + b.tokens.batch, 0);
        const lengths = batches.map((b) => b.tokens.seq);
        console.log(`${name}: ${examples} SST-2 sentences in ${batches.length} batches of up to 32 (padded lengths ${Math.min(...lengths)}-${Math.max(...lengths)}), ` +
          `${tokens} real tokens, ${paddedTokens} with padding (${(100 * (1 - tokens / paddedTokens)).toFixed(0)}% padding)`);
        const record = (run: FisherRun, maxRssMiB: number, diff?: FisherRecord['diff']): FisherRecord => {
          const rate = tokens / run.seconds;
          return {
            benchmark: 'fisher', shape: `${name} ${examples} samples`, adapter: run.adapter, implementation: run.implementation, host: 'node',
            unit: 'tokens/s', work: tokens, median: rate, min: rate, max: rate, medianMs: run.seconds * 1000, samples: 1,
            ...(run.note ? { note: run.note } : {}), date: new Date().toISOString(),
            tokens, paddedTokens, examples, batches: batches.length, seconds: run.seconds, warmupSeconds: run.warmupSeconds, maxRssMiB, ...(diff ? { diff } : {}),
          };
        };

        const ours = await wgpruneFisher(rt, config, source, batches, adapter, `${name} wgprune`);
        records.push(record(ours, rssMiB()));
        const plain = peers.length ? await readPlainBert(config, source) : undefined;
        const compare = (run: FisherRun) => {
          const diff = { head: relativeDiff(run.head, ours.head), neuron: relativeDiff(run.neuron, ours.neuron) };
          if (!(Math.max(diff.head, diff.neuron) <= fisherTolerance)) {
            failures.push(`${name}: ${run.implementation}'s Fisher diagonal differs from wgprune's by ${diff.head.toExponential(2)} (heads), ${diff.neuron.toExponential(2)} (neurons) of its largest entry; the tolerance is ${fisherTolerance}`);
          }
          return diff;
        };
        for (const peer of peers) {
          try {
            if (peer === 'tfjs-webgpu') {
              const run = await tfjsFisher(plain!, batches, { onProgress: progress(`batches (${name} tfjs-webgpu)`) });
              records.push(record(run, rssMiB(), compare(run)));
            } else if (peer === 'pytorch-cpu' && torch && 'python' in torch) {
              console.error(`${name} pytorch-cpu: running ${torch.python} bench/peers/torch_fisher.py`);
              const run = torchFisher(torch.python, plain!, batches);
              records.push(record(run, run.maxRssMiB, compare(run)));
            }
          } catch (err) {
            failures.push(`${name}: ${peer} failed: ${(err as Error).message.split('\n')[0]}`);
          }
        }
      } finally {
        await close();
      }
    }
  } finally {
    rt.destroy();
  }
  console.log('');
  console.log(formatFisherTable(records));
  for (const f of failures) console.error(`FISHER CHECK FAILED: ${f}`);
  return { records, ok: failures.length === 0 };
}

/** wgprune's pass: fisherInformation as the prune runs it (no Gram matrices), after one untimed batch. */
async function wgpruneFisher(rt: Runtime, config: ModelConfig, source: WeightSource, batches: SampleBatch[], adapter: string, what: string): Promise<FisherRun> {
  const model = await EncoderModel.load(rt, config, source);
  try {
    let t0 = performance.now();
    await fisherInformation(model, [batches[0]!]);
    const warmupSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    // With progress, fisherInformation waits for each batch, as the TF.js peer does.
    const f = await fisherInformation(model, batches, { onProgress: progress(`batches (${what})`) });
    return { implementation: 'wgprune', adapter, seconds: (performance.now() - t0) / 1000, warmupSeconds, head: f.head, neuron: f.neuron };
  } finally {
    model.dispose();
  }
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((s, c) => s.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

const cpuName = () => cpus()[0]?.model.trim() ?? 'unknown CPU';

/** The table, the adapters, and per model wgprune's speed over each peer's. */
export function formatFisherTable(records: FisherRecord[]): string {
  const rows = records.map((r) => [
    r.shape, r.implementation, `${r.seconds.toFixed(1)} s`, `${r.median.toFixed(0)}`, `${(r.paddedTokens / r.seconds).toFixed(0)}`,
    `${r.warmupSeconds.toFixed(1)} s`, `${(r.maxRssMiB / 1024).toFixed(2)} GiB`, r.diff ? Math.max(r.diff.head, r.diff.neuron).toExponential(1) : '-',
  ]);
  const out = [table(['model, samples', 'impl', 'time', 'real tokens/s', 'padded tokens/s', 'warm-up', 'max RSS', 'diff vs wgprune'], rows), ''];
  for (const adapter of [...new Set(records.map((r) => r.adapter))]) out.push(`  ${records.filter((r) => r.adapter === adapter).map((r) => r.implementation).filter((v, i, a) => a.indexOf(v) === i).join(', ')}: ${adapter}`);
  out.push(`  (CPU: ${cpuName()}; max RSS of wgprune and TF.js is this process's peak so far, of PyTorch its own process's; diff: max |peer − wgprune| / max |wgprune| over the Fisher diagonal)`, '');
  out.push('wgprune / peer (tokens per second; > 1: wgprune is faster):');
  for (const shape of [...new Set(records.map((r) => r.shape))]) {
    const ours = records.find((r) => r.shape === shape && r.implementation === 'wgprune');
    const others = records.filter((r) => r.shape === shape && r.implementation !== 'wgprune');
    if (ours && others.length) out.push(`  ${shape}: ${others.map((p) => `${(ours.median / p.median).toFixed(2)}x ${p.implementation}`).join(', ')}`);
  }
  return out.join('\n');
}

/** Markdown for the README (and the GPU check's summary). */
export function markdownFisher(records: FisherRecord[]): string {
  const out = ['| model, samples | implementation | time (s) | real tokens/s | wgprune / this | max RSS (GiB) | diff vs wgprune |', '| --- | --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const r of records) {
    const ours = records.find((o) => o.shape === r.shape && o.implementation === 'wgprune');
    out.push(`| ${r.shape} | ${r.implementation} | ${r.seconds.toFixed(1)} | ${r.median.toFixed(0)} | ${ours ? `${(ours.median / r.median).toFixed(2)}x` : 'n/a'} | ${(r.maxRssMiB / 1024).toFixed(2)} | ${r.diff ? Math.max(r.diff.head, r.diff.neuron).toExponential(1) : ''} |`);
  }
  return out.join('\n');
}
