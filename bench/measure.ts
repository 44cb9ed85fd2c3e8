import { Bench } from 'tinybench';

/** One measurement, as printed and as written by --json. */
export interface Record {
  benchmark: string;
  shape: string;
  /** The adapter (or CPU) that did the work, named as describeAdapter names ours. */
  adapter: string;
  /** 'wgprune', 'tfjs-webgpu', 'ort-web-webgpu' or 'ort-node-cpu'. */
  implementation: string;
  /** Where it ran: Node (Dawn, or native code) or headless Chromium. */
  host: 'node' | 'browser';
  unit: 'GFLOP/s' | 'GB/s' | 'tokens/s';
  /** Work per sample, in GFLOP (or GB, or tokens). */
  work: number;
  /** Rates from the median, slowest and fastest sample. */
  median: number;
  min: number;
  max: number;
  medianMs: number;
  samples: number;
  /** What differs from the plain operation, if anything (e.g. an extra Transpose kernel). */
  note?: string;
  /** When it was measured (ISO 8601; the last round's). */
  date: string;
  /** With --repeat: how many rounds the median is the median of. */
  rounds?: number;
}

export interface Job {
  benchmark: string;
  shape: string;
  implementation: string;
  adapter: string;
  host: Record['host'];
  /** Work per run, in GFLOP or GB (by `unit`). */
  work: number;
  unit: Record['unit'];
  note?: string;
  /**
   * Runs once before timing (it compiles the pipelines too) and throws if the result is wrong,
   * so that a broken peer is reported rather than timed.
   */
  verify: () => Promise<void>;
  /** One sample: starts the work and resolves once the work has completed (see each peer). */
  run: () => Promise<void>;
}

export interface MeasureOptions {
  /** Least time spent on each job, in ms (tinybench's `time`). */
  timeMs?: number;
  /** Least number of samples per job. */
  minSamples?: number;
  log?: (line: string) => void;
}

/**
 * Times each job with tinybench: every sample is one `run()` awaited to completion; what
 * that includes is the job's business (wgprune: one launch and a wait for the queue to
 * drain, no readback). Jobs run in the order given, so put the implementations of one shape
 * next to each other: then they see the same machine load. A job whose verify or run throws
 * is left out with the reason logged; the others go on.
 */
export async function measure(jobs: Job[], { timeMs = 2000, minSamples = 5, log = console.log }: MeasureOptions = {}): Promise<Record[]> {
  const ok: Job[] = [];
  const bench = new Bench({ time: timeMs, iterations: minSamples, warmupIterations: 1, warmupTime: 0 });
  for (const job of jobs) {
    const name = `${job.implementation} ${job.benchmark} ${job.shape}`;
    try {
      await job.verify();
    } catch (err) {
      log(`skipped ${name}: ${(err as Error).message}`);
      continue;
    }
    ok.push(job);
    bench.add(name, job.run);
  }
  await bench.run();
  const date = new Date().toISOString();
  const records: Record[] = [];
  bench.tasks.forEach((task, i) => {
    const job = ok[i]!;
    const result = task.result;
    if (result.state !== 'completed') {
      const why = result.state === 'errored' ? `: ${result.error.message}` : '';
      log(`skipped ${task.name}: did not complete (${result.state}${why})`);
      return;
    }
    const { p50, min, max, samplesCount } = result.latency;
    const rate = (ms: number) => job.work / (ms / 1000);
    records.push({
      benchmark: job.benchmark, shape: job.shape, adapter: job.adapter, implementation: job.implementation, host: job.host,
      unit: job.unit, work: job.work, median: rate(p50), min: rate(max), max: rate(min), medianMs: p50, samples: samplesCount,
      ...(job.note ? { note: job.note } : {}), date,
    });
  });
  return records;
}

const middle = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  const h = Math.floor(v.length / 2);
  return v.length % 2 ? v[h]! : (v[h - 1]! + v[h]!) / 2;
};

/**
 * Folds several rounds of the same jobs into one record per job: the median of the rounds'
 * medians, the slowest and fastest sample of all rounds, and the samples summed. Rounds far
 * apart in time see different loads on a shared machine; their median is steadier than one
 * round's.
 */
export function combineRounds(rounds: Record[][]): Record[] {
  const key = (r: Record) => [r.host, r.implementation, r.benchmark, r.shape].join('\u0000');
  const groups = new Map<string, Record[]>();
  for (const round of rounds) for (const r of round) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  return [...groups.values()].map((rs) => {
    const first = rs[0]!, medianMs = middle(rs.map((r) => r.medianMs));
    return {
      ...first, median: first.work / (medianMs / 1000), medianMs,
      min: Math.min(...rs.map((r) => r.min)), max: Math.max(...rs.map((r) => r.max)),
      samples: rs.reduce((n, r) => n + r.samples, 0), ...(rs.length > 1 ? { rounds: rs.length } : {}),
      date: rs[rs.length - 1]!.date,
    };
  });
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((s, c) => s.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/** Every record, grouped by adapter, in the order measured. */
export function formatTable(records: Record[]): string {
  const out: string[] = [];
  for (const adapter of [...new Set(records.map((r) => r.adapter))]) {
    const rows = records.filter((r) => r.adapter === adapter).map((r) => [
      r.benchmark, r.shape, r.implementation,
      `${r.median.toFixed(2)} ${r.unit}`, r.min.toFixed(2), r.max.toFixed(2), `${r.medianMs.toFixed(1)} ms`,
      r.rounds ? `${r.samples} in ${r.rounds} rounds` : String(r.samples),
    ]);
    out.push(`adapter: ${adapter}`, table(['benchmark', 'shape', 'impl', 'median', 'min', 'max', 'median time', 'n'], rows), '');
  }
  return out.join('\n');
}

export function printTable(records: Record[]): void {
  console.log(formatTable(records));
}

const ours = 'wgprune';
const native = 'ort-node-cpu';

export interface SummaryRow {
  host: Record['host'];
  benchmark: string;
  shape: string;
  ours?: Record;
  bestPeer?: Record;
  native?: Record;
}

/**
 * Per host and shape: our median, the fastest peer on a GPU API (by median) in the same
 * host, and the CPU's native sgemm (ONNX Runtime's CPU provider in Node; the same CPU
 * serves both hosts, so browser rows compare against it too).
 */
export function summarize(records: Record[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const keys = [...new Set(records.map((r) => `${r.host}\u0000${r.benchmark}\u0000${r.shape}`))];
  for (const k of keys) {
    const [host, benchmark, shape] = k.split('\u0000') as [Record['host'], string, string];
    const same = records.filter((r) => r.benchmark === benchmark && r.shape === shape);
    const here = same.filter((r) => r.host === host);
    const peers = here.filter((r) => r.implementation !== ours && r.implementation !== native);
    const bestPeer = peers.reduce<Record | undefined>((best, r) => (!best || r.median > best.median ? r : best), undefined);
    const row: SummaryRow = { host, benchmark, shape };
    const o = here.find((r) => r.implementation === ours);
    const n = same.find((r) => r.implementation === native);
    if (o) row.ours = o;
    if (bestPeer) row.bestPeer = bestPeer;
    if (n) row.native = n;
    if (o || bestPeer) rows.push(row);
  }
  return rows;
}

const ratio = (a?: Record, b?: Record) => (a && b ? `${(a.median / b.median).toFixed(2)}x` : 'n/a');
const rate = (r?: Record) => (r ? r.median.toFixed(2) : 'n/a');

/** Median GFLOP/s: ours, the best peer (named), native sgemm, and ours over each. */
export function formatSummary(records: Record[]): string {
  const rows = summarize(records).map((s) => [
    s.host, `${s.benchmark} ${s.shape}`, rate(s.ours),
    s.bestPeer ? `${rate(s.bestPeer)} (${s.bestPeer.implementation})` : 'n/a', ratio(s.ours, s.bestPeer),
    rate(s.native), ratio(s.ours, s.native),
  ]);
  return table(['host', 'shape', 'wgprune', 'best peer', 'ours/peer', 'native sgemm', 'ours/native'], rows);
}

/**
 * Markdown for the README: per host, a table of every implementation's median GFLOP/s by
 * shape, with ours over the best peer and over native sgemm, then the adapters by name.
 */
export function markdownSummary(records: Record[]): string {
  const out: string[] = [];
  const impls = (host: Record['host']) => [...new Set(records.filter((r) => r.host === host && r.implementation !== native).map((r) => r.implementation))];
  const hasNative = records.some((r) => r.implementation === native);
  for (const host of ['node', 'browser'] as const) {
    const rows = summarize(records).filter((s) => s.host === host);
    if (!rows.length) continue;
    const names = impls(host);
    const adapters = [...new Set(records.filter((r) => r.host === host).map((r) => r.adapter))];
    out.push(`${host === 'node' ? 'Node' : 'Chromium (headless)'}: ${adapters.join('; ')}`, '');
    out.push(`| shape (M x K x N) | ${names.join(' | ')}${hasNative ? ` | ${native}` : ''} | wgprune / best peer |${hasNative ? ' wgprune / native |' : ''}`);
    out.push(`| --- |${' ---: |'.repeat(names.length + (hasNative ? 3 : 1))}`);
    for (const s of rows) {
      const cell = (impl: string) => rate(records.find((r) => r.host === host && r.implementation === impl && r.benchmark === s.benchmark && r.shape === s.shape));
      const best = s.bestPeer ? `${ratio(s.ours, s.bestPeer)} (${s.bestPeer.implementation})` : 'n/a';
      out.push(`| ${s.benchmark} ${s.shape} | ${names.map(cell).join(' | ')}${hasNative ? ` | ${rate(s.native)}` : ''} | ${best} |${hasNative ? ` ${ratio(s.ours, s.native)} |` : ''}`);
    }
    out.push('');
  }
  return out.join('\n');
}

/**
 * Adds `fresh` to `old`, replacing a record of the same benchmark, shape, implementation
 * and host: a later run of one mode then updates a file that holds both modes.
 */
export function mergeRecords(old: Record[], fresh: Record[]): Record[] {
  const key = (r: Record) => [r.host, r.implementation, r.benchmark, r.shape].join('\u0000');
  const replaced = new Set(fresh.map(key));
  return [...old.filter((r) => !replaced.has(key(r))), ...fresh];
}
