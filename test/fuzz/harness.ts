// The fuzz harness: each target's cases run in a worker thread with a memory cap, while the
// test watches the clock, so that a hang or a blow-up fails the case that caused it (named,
// with its seed) instead of the whole run. Every case must end in a clean WgpruneError or
// in a result its target accepts (a checkpoint that loads the original's values).
//
//   node dist/test/node/fuzz/<file>.test.js        (npm test: the default case counts)
//   WGPRUNE_FUZZ_CASES=N WGPRUNE_FUZZ_SEED=S ...    (scripts/fuzz.mjs: longer runs)
//   WGPRUNE_FUZZ_ONLY=target:case                   (one case again, with its description)
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WgpruneError } from '../../src/runtime/errors.js';
import { skip } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';

export const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** One case: what was done to the input, and the check, which returns a problem or nothing. */
export interface FuzzCase {
  what: string;
  check(): Promise<string | undefined>;
}

/** A target makes its cases from a seeded generator (inputs are read once, in the worker). */
export type FuzzTarget = () => Promise<(rand: Random, index: number) => FuzzCase>;

export interface FuzzStats {
  cases: number;
  /** Cases that ended in each WgpruneError class, and in an accepted result ('loaded'). */
  outcomes: Record<string, number>;
  slowestMs: number;
  failures: { index: number; what: string; problem: string }[];
}

const env = (name: string) => (isNode ? process.env[name] : undefined);

/** Per-target case count and seed: defaults for npm test, or WGPRUNE_FUZZ_CASES / _SEED. */
export function fuzzSettings(defaultCases: number): { cases: number; seed: number; limitMs: number } {
  const cases = Number(env('WGPRUNE_FUZZ_CASES') ?? defaultCases);
  const seed = Number(env('WGPRUNE_FUZZ_SEED') ?? 1);
  const limitMs = Number(env('WGPRUNE_FUZZ_LIMIT_MS') ?? 3000);
  return { cases, seed, limitMs };
}

/** A generator for case `index` of `target`: the same case on every run with the same seed. */
export function caseRandom(seed: number, target: string, index: number): Random {
  let h = 2166136261 ^ seed;
  for (const c of `${target}#${index}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return new Random(h >>> 0);
}

/**
 * Runs `fn` and classifies how it ended: undefined when it returned (the caller then checks
 * the result), the error's class name when it threw a WgpruneError with a usable message,
 * and a problem (prefixed 'PROBLEM') for anything else: another error, an empty message.
 */
export async function outcome(fn: () => Promise<unknown>): Promise<{ error?: string; problem?: string }> {
  try {
    await fn();
    return {};
  } catch (e) {
    if (!(e instanceof WgpruneError)) {
      const err = e as Error;
      return { problem: `not a WgpruneError: ${err?.name}: ${err?.message}\n${(err?.stack ?? '').split('\n').slice(1, 6).join('\n')}` };
    }
    if (!e.message.trim()) return { problem: `${e.name} with an empty message` };
    return { error: e.name };
  }
}

// ------------------------------------------------------------------ byte mutations

export const interestingBytes = [0x00, 0xff, 0x7f, 0x80, 0x20, 0x30, 0x39, 0x2d, 0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x0a, 0x09];
export const interestingInts = [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

export const pick = <T>(rand: Random, xs: readonly T[]): T => xs[Math.floor(rand.next() * xs.length)]!;
export const below = (rand: Random, n: number) => Math.floor(rand.next() * n);

/**
 * One random byte-level change to a copy of `bytes`, at an offset drawn from `region`
 * (default: anywhere): a bit flip, an interesting byte, a 2-, 4- or 8-byte integer
 * overwritten, a truncation, a deletion, an insertion, a copied chunk.
 */
export function mutateBytes(rand: Random, bytes: Uint8Array, region: [number, number] = [0, bytes.length]): { bytes: Uint8Array; what: string } {
  const [lo, hi] = [Math.max(0, region[0]), Math.min(bytes.length, Math.max(region[0] + 1, region[1]))];
  const at = lo + below(rand, Math.max(1, hi - lo));
  const kind = below(rand, 10);
  const out = bytes.slice();
  switch (kind) {
    case 0: case 1: {
      const bit = below(rand, 8);
      out[at] = out[at]! ^ (1 << bit);
      return { bytes: out, what: `flip bit ${bit} of byte ${at}` };
    }
    case 2: case 3: {
      const v = pick(rand, interestingBytes);
      out[at] = v;
      return { bytes: out, what: `byte ${at} = 0x${v.toString(16)}` };
    }
    case 4: case 5: {
      const width = pick(rand, [2, 4, 8]), v = pick(rand, [...interestingInts, bytes.length, bytes.length - at, below(rand, bytes.length)]);
      const dv = new DataView(out.buffer);
      if (at + width > out.length) return { bytes: out.subarray(0, at), what: `truncate to ${at} bytes` };
      if (width === 2) dv.setUint16(at, v & 0xffff, true);
      else if (width === 4) dv.setUint32(at, v >>> 0, true);
      else dv.setBigUint64(at, BigInt(v), true);
      return { bytes: out, what: `${width}-byte integer at ${at} = ${v}` };
    }
    case 6:
      return { bytes: bytes.slice(0, at), what: `truncate to ${at} bytes` };
    case 7: {
      const n = 1 + below(rand, pick(rand, [4, 64, 4096]));
      return { bytes: concatBytes([bytes.subarray(0, at), bytes.subarray(at + n)]), what: `delete ${n} bytes at ${at}` };
    }
    case 8: {
      const n = 1 + below(rand, pick(rand, [4, 64]));
      const ins = Uint8Array.from({ length: n }, () => (rand.next() < 0.5 ? pick(rand, interestingBytes) : below(rand, 256)));
      return { bytes: concatBytes([bytes.subarray(0, at), ins, bytes.subarray(at)]), what: `insert ${n} bytes at ${at}` };
    }
    default: {
      const from = below(rand, bytes.length), n = 1 + below(rand, 256);
      out.set(bytes.subarray(from, Math.min(bytes.length, from + n)).subarray(0, Math.max(0, out.length - at)), at);
      return { bytes: out, what: `copy ${n} bytes from ${from} over ${at}` };
    }
  }
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** A JSON value that no field expects, or one at the edge of what it does. */
export function oddJsonValue(rand: Random): unknown {
  return pick(rand, [
    0, -1, 1, 2, 3, 0.5, -0.5, 1e-12, 1e308, -1e308, 2 ** 31, 2 ** 31 - 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e9, 12, 64, 100, 33, 31, 16, 8,
    '', '1', 'bert', 'roberta', 'gelu', 'relu', 'regression', null, true, false, [], [1], [0, 1], {}, { 0: 'a' }, { 1: [0] },
  ]);
}

// ------------------------------------------------------------------ running

interface WorkerRequest { fuzz: true; target: string; first: number; cases: number; seed: number; limitMs: number }
type WorkerMessage =
  | { type: 'case'; index: number; what: string }
  | { type: 'fail'; index: number; what: string; problem: string }
  | { type: 'done'; outcomes: Record<string, number>; slowestMs: number };

/** In a worker: runs the cases and reports each one before it starts. */
async function workerMain(targets: Record<string, FuzzTarget>, req: WorkerRequest, post: (m: WorkerMessage) => void): Promise<void> {
  const make = await targets[req.target]!();
  const outcomes: Record<string, number> = {};
  let slowestMs = 0;
  for (let index = req.first; index < req.first + req.cases; index++) {
    const c = make(caseRandom(req.seed, req.target, index), index);
    post({ type: 'case', index, what: c.what });
    const t0 = performance.now();
    let problem: string | undefined;
    try {
      problem = await c.check();
    } catch (e) {
      problem = `the check itself threw: ${(e as Error).stack ?? String(e)}`;
    }
    const ms = performance.now() - t0;
    slowestMs = Math.max(slowestMs, ms);
    if (!problem && ms > req.limitMs) problem = `took ${ms.toFixed(0)} ms, over the ${req.limitMs} ms limit`;
    if (problem) post({ type: 'fail', index, what: c.what, problem });
    else {
      const key = lastOutcome ?? 'loaded';
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    lastOutcome = undefined;
  }
  post({ type: 'done', outcomes, slowestMs });
}

/** The outcome of the current case, for the statistics: set by `record`. */
let lastOutcome: string | undefined;
/** Notes how the current case ended (a WgpruneError class name, or 'loaded'), for the statistics. */
export function record(kind: string): void {
  lastOutcome = kind;
}

/** In the test: runs one target's cases in a worker, restarting after a hang or a crash. */
async function runTarget(target: string, settings: { cases: number; seed: number; limitMs: number }, only?: number): Promise<FuzzStats> {
  const wt = await import('node:worker_threads');
  const { fileURLToPath } = await import('node:url');
  const stats: FuzzStats = { cases: 0, outcomes: {}, slowestMs: 0, failures: [] };
  let first = only ?? 0;
  const end = only === undefined ? settings.cases : only + 1;
  while (first < end) {
    const req: WorkerRequest = { fuzz: true, target, first, cases: end - first, seed: settings.seed, limitMs: settings.limitMs };
    const worker = new wt.Worker(fileURLToPath(import.meta.url), { workerData: req, resourceLimits: { maxOldGenerationSizeMb: 768 }, stdout: true, stderr: true });
    let current: { index: number; what: string } | undefined;
    const ended = await new Promise<{ kind: 'done' } | { kind: 'died'; why: string }>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      // A case gets its limit, and twice that before it is called a hang (the worker's own
      // clock reports a slow case that does end).
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => { void worker.terminate(); resolve({ kind: 'died', why: `no result within ${(2 * settings.limitMs + 5000) / 1000} s (a hang?)` }); }, 2 * settings.limitMs + 5000);
      };
      arm();
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'case') { current = m; stats.cases++; arm(); }
        else if (m.type === 'fail') stats.failures.push({ index: m.index, what: m.what, problem: m.problem });
        else {
          clearTimeout(timer);
          for (const [k, v] of Object.entries(m.outcomes)) stats.outcomes[k] = (stats.outcomes[k] ?? 0) + v;
          stats.slowestMs = Math.max(stats.slowestMs, m.slowestMs);
          resolve({ kind: 'done' });
        }
      });
      worker.on('error', (e) => { clearTimeout(timer); resolve({ kind: 'died', why: `the worker died: ${(e as Error).message}` }); });
      worker.on('exit', (code) => { clearTimeout(timer); resolve(code === 0 ? { kind: 'done' } : { kind: 'died', why: `the worker exited with ${code}` }); });
    });
    await worker.terminate();
    if (ended.kind === 'done') break;
    if (!current) {
      stats.failures.push({ index: first, what: '(before the first case)', problem: ended.why });
      break;
    }
    stats.failures.push({ index: current.index, what: current.what, problem: ended.why });
    first = current.index + 1;
  }
  return stats;
}

/**
 * The test file's body: in a worker, runs the target it was started for; in the test, one
 * uvu test per target that fails with every failing case (index, what was done, problem).
 * In a browser the suite is skipped (fixtures are read from disk).
 */
export async function fuzzFile(name: string, targets: Record<string, FuzzTarget>, defaultCases: number | Record<string, number>): Promise<void> {
  if (isNode) {
    const wt = await import('node:worker_threads');
    const data = wt.workerData as WorkerRequest | undefined;
    if (!wt.isMainThread && data?.fuzz) {
      await workerMain(targets, data, (m) => wt.parentPort!.postMessage(m));
      return;
    }
  }
  const s = suite(name);
  const onlyEnv = env('WGPRUNE_FUZZ_ONLY');
  for (const target of Object.keys(targets)) {
    const settings = fuzzSettings(typeof defaultCases === 'number' ? defaultCases : defaultCases[target] ?? 100);
    let only: number | undefined;
    if (onlyEnv) {
      const [t, i] = onlyEnv.split(':');
      if (t !== target) continue;
      only = Number(i);
    }
    s(`${target}: ${only ?? settings.cases} mutated inputs end in a WgpruneError or load as they should, each within ${settings.limitMs / 1000} s (seed ${settings.seed})`, async () => {
      if (!isNode) return skip('reads its fixtures from disk');
      const stats = await runTarget(target, settings, only);
      console.log(`  ${target}: ${stats.cases} cases, slowest ${stats.slowestMs.toFixed(0)} ms; ${Object.entries(stats.outcomes).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
      if (stats.failures.length) {
        const shown = stats.failures.slice(0, 8).map((f) => `case ${f.index} (${f.what}): ${f.problem}\n  again: WGPRUNE_FUZZ_SEED=${settings.seed} WGPRUNE_FUZZ_ONLY=${target}:${f.index}`);
        assert.unreachable(`${stats.failures.length} of ${stats.cases} cases failed:\n${shown.join('\n')}`);
      }
      assert.is(stats.cases, only === undefined ? settings.cases : 1, 'every case ran');
    });
  }
  s.run();
}
