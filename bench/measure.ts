import { Bench } from 'tinybench';
import { describeAdapter } from '../src/runtime/gpu.js';
import type { Runtime } from '../src/runtime/runtime.js';

/** One measurement, as printed and as written by --json. */
export interface Record {
  benchmark: string;
  shape: string;
  adapter: string;
  implementation: string;
  unit: 'GFLOP/s' | 'GB/s';
  median: number;
  min: number;
  max: number;
  medianMs: number;
  samples: number;
}

export interface Job {
  benchmark: string;
  shape: string;
  /** Work per run, in GFLOP or GB (by `unit`). */
  work: number;
  unit: Record['unit'];
  /** Records the work; the harness waits for the device after each run. */
  run: () => void;
}

/**
 * Times each job on the device with tinybench: every sample is one launch plus a wait for
 * the queue to drain, so it includes submission, not readback. Rates come from the median,
 * fastest and slowest samples.
 */
export async function measure(rt: Runtime, jobs: Job[], { timeMs = 2000, minSamples = 5 } = {}): Promise<Record[]> {
  const bench = new Bench({ time: timeMs, iterations: minSamples, warmupIterations: 2, warmupTime: 0 });
  for (const job of jobs) {
    bench.add(`${job.benchmark} ${job.shape}`, async () => {
      job.run();
      await rt.sync();
    });
  }
  await bench.run();
  const adapter = describeAdapter(rt.adapter);
  return bench.tasks.map((task, i) => {
    const job = jobs[i]!;
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`benchmark ${task.name} did not complete (${result.state})`);
    const { p50, min, max, samplesCount } = result.latency;
    const rate = (ms: number) => job.work / (ms / 1000);
    return {
      benchmark: job.benchmark, shape: job.shape, adapter, implementation: 'wgprune', unit: job.unit,
      median: rate(p50), min: rate(max), max: rate(min), medianMs: p50, samples: samplesCount,
    };
  });
}

export function printTable(records: Record[]): void {
  const rows = records.map((r) => [
    r.benchmark, r.shape, r.implementation,
    `${r.median.toFixed(2)} ${r.unit}`, `${r.min.toFixed(2)}`, `${r.max.toFixed(2)}`, `${r.medianMs.toFixed(1)} ms`, String(r.samples),
  ]);
  const head = ['benchmark', 'shape', 'impl', 'median', 'min', 'max', 'median time', 'n'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((s, c) => s.padEnd(widths[c]!)).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}
