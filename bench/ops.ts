// The transformer ops at BERT-base shapes: attention at batch 32 x seq 128 x 12 heads (GFLOP/s
// of its two products), and the memory-bound ops in GB/s of what they must read and write,
// next to a plain copy on the same adapter, two ways: the device's own copyBufferToBuffer, and
// the simplest storage kernel (an identity map of vec4s, the access pattern of GELU's kernel).
// Issue 12 asks for each op at half a copy's bandwidth or better: `copyFractions` prints them.
import { mapKernel } from '../shaders/common.js';
import { geluForward } from '../src/ops/activation.js';
import { attentionForward, disposeAttention } from '../src/ops/attention.js';
import { launchMap } from '../src/ops/launch.js';
import { addLayernormForward, layernormForward } from '../src/ops/layernorm.js';
import { softmaxForward } from '../src/ops/softmax.js';
import type { Runtime } from '../src/runtime/runtime.js';
import type { Tensor } from '../src/runtime/tensor.js';
import type { Job, Record } from './measure.js';

const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

/** out = x, four floats an invocation: a copy through the storage path the op kernels take. */
const identityKernel = mapKernel('identity', ['x'], 'x');

/** The two copies' benchmark names, which `copyFractions` divides by. */
export const copyBenchmarks = { device: 'copy: copyBufferToBuffer', kernel: 'copy: identity kernel (vec4)' } as const;

/**
 * The jobs, in the order to measure them: attention, then the memory-bound ops and the two
 * copies next to each other (measure them interleaved, `measureInterleaved`, so that they
 * see the same load). Each sample is one op on the device and a wait for the queue to
 * drain, no readback; GB/s counts the bytes the op must read and write once (inputs and
 * outputs, not gamma, beta, the mask or the saved statistics, which are rows or columns).
 */
export function opJobs(rt: Runtime, adapter: string): { jobs: Job[]; inputs: Tensor[] } {
  const inputs: Tensor[] = [];
  const T = (shape: number[]) => {
    const t = rt.tensor(random(shape.reduce((a, b) => a * b, 1)), shape);
    inputs.push(t);
    return t;
  };
  const base = { implementation: 'wgprune', adapter, host: 'node' as const, verify: async () => {} };
  const batch = 32, seq = 128, heads = 12, hidden = 768, tokens = batch * seq;
  const q = T([batch, seq, hidden]), k = T([batch, seq, hidden]), v = T([batch, seq, hidden]);
  // Sequences of 97 to 128 tokens, the rest padding (the float32 minimum, as the model makes it).
  const keyBias = rt.tensor(Float32Array.from({ length: batch * seq }, (_, i) => (i % seq < seq - (Math.floor(i / seq) % 33) ? 0 : -3.4028234663852886e38)), [batch, seq]);
  inputs.push(keyBias);
  const x = T([tokens, hidden]), residual = T([tokens, hidden]), gamma = T([hidden]), beta = T([hidden]);
  const scores = T([batch * heads * seq, seq]);
  const pre = T([tokens, 3072]);
  // The copies move as much as GELU (48 MiB each way): more than a CPU's last-level cache.
  const copyFrom = T([tokens, 3072]), copyTo = T([tokens, 3072]);
  const sync = async () => { await rt.sync(); };
  const gb = (floats: number) => (floats * 4) / 1e9;
  const jobs: Job[] = [
    {
      ...base, benchmark: 'attention forward', shape: `${batch}x${seq}x${heads}x${hidden / heads}`, unit: 'GFLOP/s',
      // QKᵀ and PV: 2 x 2 x batch x heads x seq² x headDim (heads read in place, src/ops/heads.ts).
      work: (4 * batch * heads * seq * seq * (hidden / heads)) / 1e9,
      note: 'scaled masked softmax and both products, heads read in place',
      run: async () => {
        const r = attentionForward(q, k, v, heads, { keyBias });
        disposeAttention(r.saved);
        r.out.dispose();
        await sync();
      },
    },
    {
      ...base, benchmark: 'layernorm forward', shape: `${tokens}x${hidden}`, unit: 'GB/s', work: gb(2 * tokens * hidden),
      note: 'reads x, writes y',
      run: async () => {
        const r = layernormForward(x, gamma, beta, 1e-12);
        for (const t of [r.y, r.mean, r.rstd]) t.dispose();
        await sync();
      },
    },
    {
      ...base, benchmark: 'add + layernorm forward', shape: `${tokens}x${hidden}`, unit: 'GB/s', work: gb(4 * tokens * hidden),
      note: 'reads a and b, writes y and the sum x = a + b',
      run: async () => {
        const r = addLayernormForward(x, residual, gamma, beta, 1e-12);
        for (const t of [r.y, r.x, r.mean, r.rstd]) t.dispose();
        await sync();
      },
    },
    {
      ...base, benchmark: 'softmax forward, scaled and masked', shape: `${batch * heads * seq}x${seq}`, unit: 'GB/s', work: gb(2 * batch * heads * seq * seq),
      note: `as attention calls it: scale 1/8 and a [${batch}, ${seq}] key mask; reads the scores, writes the probabilities`,
      run: async () => { softmaxForward(scores, { scale: 0.125, bias: keyBias }).dispose(); await sync(); },
    },
    {
      ...base, benchmark: 'gelu forward', shape: `${tokens}x3072`, unit: 'GB/s', work: gb(2 * tokens * 3072),
      note: 'the vec4 map kernel; reads x, writes y',
      run: async () => { geluForward(pre).dispose(); await sync(); },
    },
    {
      ...base, benchmark: copyBenchmarks.device, shape: `${tokens}x3072`, unit: 'GB/s', work: gb(2 * tokens * 3072),
      note: 'GPUCommandEncoder.copyBufferToBuffer; reads and writes each byte once',
      run: async () => {
        rt.flush();
        const encoder = rt.device.createCommandEncoder({ label: 'bench copy' });
        encoder.copyBufferToBuffer(copyFrom.storage.buffer, copyFrom.byteOffset, copyTo.storage.buffer, copyTo.byteOffset, copyFrom.byteLength);
        rt.device.queue.submit([encoder.finish()]);
        await sync();
      },
    },
    {
      ...base, benchmark: copyBenchmarks.kernel, shape: `${tokens}x3072`, unit: 'GB/s', work: gb(2 * tokens * 3072),
      note: 'out[i] = x[i], a vec4 an invocation (mapKernel, as GELU)',
      run: async () => { launchMap(identityKernel, [copyFrom]).dispose(); await sync(); },
    },
  ];
  return { jobs, inputs };
}

const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  const h = Math.floor(v.length / 2);
  return v.length % 2 ? v[h]! : (v[h - 1]! + v[h]!) / 2;
};

export interface InterleavedOptions {
  /** Least time per job, in ms (all jobs' samples together take about jobs x timeMs). */
  timeMs?: number;
  /** Least number of rounds (samples per job). */
  minRounds?: number;
  log?: (line: string) => void;
}

/**
 * Times jobs in rounds, one sample of every job a round (each round starting one job
 * later, so no job always follows the same one), until every job has had `timeMs` and
 * `minRounds` samples: on a shared machine load comes and goes, and interleaving spreads
 * it over all jobs alike, which their ratios need (a job timed for 2 s after another's
 * 2 s can see a different machine). Reports each job's median sample, as `measure` does.
 * A job whose verify or run throws is left out with the reason logged.
 */
export async function measureInterleaved(jobs: Job[], { timeMs = 2000, minRounds = 5, log = console.log }: InterleavedOptions = {}): Promise<Record[]> {
  const name = (j: Job) => `${j.implementation} ${j.benchmark} ${j.shape}`;
  const ok: Job[] = [];
  for (const job of jobs) {
    try {
      await job.verify();
      await job.run(); // a warm-up: pipelines compiled, buffers pooled
      ok.push(job);
    } catch (err) {
      log(`skipped ${name(job)}: ${(err as Error).message}`);
    }
  }
  const samples = ok.map(() => [] as number[]);
  const failed = new Set<number>();
  const t0 = performance.now();
  for (let round = 0; round < minRounds || performance.now() - t0 < timeMs * ok.length; round++) {
    for (let n = 0; n < ok.length; n++) {
      const i = (round + n) % ok.length;
      if (failed.has(i)) continue;
      const start = performance.now();
      try {
        await ok[i]!.run();
      } catch (err) {
        failed.add(i);
        log(`skipped ${name(ok[i]!)}: ${(err as Error).message}`);
        continue;
      }
      samples[i]!.push(performance.now() - start);
    }
    if (failed.size === ok.length) break;
  }
  const date = new Date().toISOString();
  return ok.flatMap((job, i) => {
    if (failed.has(i)) return [];
    const ms = samples[i]!;
    const medianMs = median(ms);
    const rate = (t: number) => job.work / (t / 1000);
    return [{
      benchmark: job.benchmark, shape: job.shape, adapter: job.adapter, implementation: job.implementation, host: job.host,
      unit: job.unit, work: job.work, median: rate(medianMs), min: rate(Math.max(...ms)), max: rate(Math.min(...ms)), medianMs,
      samples: ms.length, ...(job.note ? { note: job.note } : {}), date,
    }];
  });
}

/**
 * Each memory-bound op's median GB/s as a fraction of each copy's, measured in the same
 * run (records of `opJobs`); issue 12's target is 0.5 or more.
 */
export function copyFractions(records: Record[]): string {
  const gbs = records.filter((r) => r.unit === 'GB/s');
  const device = gbs.find((r) => r.benchmark === copyBenchmarks.device);
  const kernel = gbs.find((r) => r.benchmark === copyBenchmarks.kernel);
  const copies = [device, kernel].filter((r): r is Record => r !== undefined);
  if (!copies.length) return 'no copy was measured: no fractions';
  const ops = gbs.filter((r) => !copies.includes(r));
  const head = ['op', 'shape', 'GB/s', ...copies.map((c) => `of ${c.benchmark.replace(/^copy: /, '')} (${c.median.toFixed(2)} GB/s)`)];
  const rows = ops.map((r) => [r.benchmark, r.shape, r.median.toFixed(2), ...copies.map((c) => (r.median / c.median).toFixed(2))]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((s, c) => s.padEnd(widths[c]!)).join('  ').trimEnd();
  return [`memory-bound ops against a plain copy on ${copies[0]!.adapter} (medians; issue 12's target: 0.5 of a copy or more)`, line(head), ...rows.map(line)].join('\n');
}
