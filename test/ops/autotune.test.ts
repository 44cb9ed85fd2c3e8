import * as assert from 'uvu/assert';
import {
  memoryTuningCache, modelWorkload, tuneKernels, tuningAdapterKey, tuningFileFormat, tuningFileVersion, wgpruneVersion,
  type Timer, type Trial, type Workload, type WorkloadMatmul,
} from '../../src/ops/autotune.js';
import { chooseKernel, matmul, matmulShapeClass, type MatmulKernel } from '../../src/ops/matmul.js';
import { fileTuningCache } from '../../src/io/tuning-file.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { assertClose } from '../helpers/compare.js';
import { gpuSuite, skip } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { gelu as geluRef } from '../reference/activation.js';
import { f32 } from '../reference/elementwise.js';
import { matmulRef } from '../reference/matmul.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const rand = new Random();

// A small model's shapes: every class tiny, so that real runs take milliseconds.
const small = { hidden: 32, heads: 2, intermediate: 64 };
const workload: Workload = modelWorkload(small, { batch: 2, seq: 12 });
const shapeOf = (m: WorkloadMatmul) => ({ M: m.M, K: m.K, N: m.N, transA: m.transA, transB: m.transB, halves: false, batched: m.batch > 1 });
const keyOf = (m: WorkloadMatmul) => matmulShapeClass(shapeOf(m));

/** Puts a runtime's tuning back to the adapter's defaults (tuneKernels writes into it). */
function reset(rt: Runtime): void {
  delete rt.tuning.matmulChoices;
  rt.tuning.rowPerThread = rt.explicitTuning.rowPerThread ?? rt.adapter.software;
}

/** A fake timer: never runs anything; `ms` prices each trial. Records what it was asked. */
function fakeTimer(ms: (t: Trial, index: number) => number): Timer & { trials: Trial[] } {
  const trials: Trial[] = [];
  const timer: Timer = async (t) => {
    const index = trials.filter((x) => x.key === t.key).length;
    trials.push(t);
    return ms(t, index);
  };
  return Object.assign(timer, { trials });
}

const failTimer: Timer = async (t) => { throw new Error(`nothing should be timed, but ${t.key} ${t.variant} was`); };

const rowsWinner = (rowPerThread: boolean) => (t: Trial, i: number) =>
  t.op === 'rows' ? ((t.variant === 'rowPerThread') === rowPerThread ? 1 : 2) : 10 - i;

const t = gpuSuite('kernel tuning');

t('modelWorkload: the linear layers, their backward and the row-wise ops of sst2-mini (attention\'s products read heads in place, untimed)', () => {
  const w = modelWorkload({ hidden: 256, heads: 8, intermediate: 1024 }, { batch: 32, seq: 26 });
  const keys = w.matmuls.map(keyOf);
  assert.equal(keys, [
    '1024x256x256 B^T', '1024x256x1024 B^T', '1024x1024x256 B^T', '1024x256x256', '1024x1024x256', '1024x256x1024',
  ]);
  assert.equal(w.matmuls.map((m) => m.batch), [1, 1, 1, 1, 1, 1]);
  assert.ok(w.matmuls[1]!.gelu && w.matmuls[1]!.bias && !w.matmuls[3]!.bias);
  assert.equal(w.rows.map((r) => r.op), ['layernorm', 'softmax', 'maskGradient', 'maskGradient']);
  assert.throws(() => modelWorkload({ hidden: 30, heads: 8, intermediate: 64 }, { batch: 1, seq: 1 }), /not divisible/);
});

t('the fastest variant is chosen per shape class, and the kernels use it', async ({ rt }) => {
  reset(rt);
  // The last variant tried for each matmul class is the fastest; workgroup-per-row wins the rows.
  const timer = fakeTimer(rowsWinner(false));
  const k = await tuneKernels(rt, workload, { timer, cache: memoryTuningCache() });
  const matmulTrials = timer.trials.filter((x) => x.op === 'matmul');
  const classes = [...new Set(matmulTrials.map((x) => x.key))];
  for (const key of classes) {
    const tried = matmulTrials.filter((x) => x.key === key).map((x) => x.variant);
    assert.is(k.matmul[key], tried[tried.length - 1], `${key}: the fastest of ${tried.join(', ')}`);
    assert.is(rt.tuning.matmulChoices?.[key], tried[tried.length - 1]);
  }
  for (const m of workload.matmuls) assert.is(chooseKernel(rt, shapeOf(m)).kind, k.matmul[keyOf(m)], `${keyOf(m)} runs its choice`);
  assert.is(k.rowPerThread, false);
  assert.is(rt.tuning.rowPerThread, false);
  assert.equal(new Set(timer.trials.filter((x) => x.op === 'rows').map((x) => x.key)).size, 4);
  assert.is(k.status, 'tuned');
  assert.match(k.line, /^kernels tuned for this adapter in \d+\.\d s \(cached: in memory\)$/);
  if (rt.adapter.software && classes.length === 0) assert.unreachable('a CPU adapter has several matmul kernels to time');

  // The other way round for the rows, and the first variant for the matmuls.
  reset(rt);
  const k2 = await tuneKernels(rt, workload, { timer: fakeTimer((x, i) => (x.op === 'rows' ? (x.variant === 'rowPerThread' ? 1 : 2) : 1 + i)), cache: null });
  assert.is(k2.rowPerThread, true);
  for (const key of classes) assert.is(k2.matmul[key], matmulTrials.find((x) => x.key === key)!.variant);
  assert.match(k2.line, /not cached/);
  reset(rt);
});

t('a variant that fails is never chosen; one that all fail is an error', async ({ rt }) => {
  reset(rt);
  const failing: Timer = async (x) => {
    if (x.op === 'rows' && x.variant === 'workgroupPerRow') throw new Error('cannot compile');
    return x.variant === 'rowPerThread' ? 5 : 1;
  };
  const k = await tuneKernels(rt, workload, { timer: failing, cache: null });
  assert.is(k.rowPerThread, true);
  assert.ok(Object.entries(k.timings).some(([key, ms]) => key.startsWith('layernorm') && ms.workgroupPerRow === null));
  reset(rt);
  try {
    await tuneKernels(rt, workload, { timer: async () => { throw new Error('nothing compiles'); }, cache: null });
    assert.unreachable('should throw');
  } catch (e) {
    assert.match((e as Error).message, 'nothing compiles');
  }
  reset(rt);
});

t('with the real timer: every variant runs and is timed (no assertion on the times)', async ({ rt }) => {
  reset(rt);
  const k = await tuneKernels(rt, modelWorkload(small, { batch: 1, seq: 8 }), { cache: null, repeats: 1 });
  assert.is(k.status, 'tuned');
  for (const [key, ms] of Object.entries(k.timings)) {
    for (const [variant, v] of Object.entries(ms)) assert.ok(typeof v === 'number' && v >= 0, `${key} ${variant}: ${v}`);
  }
  assert.equal(rt.stats().tensors, 0, 'tuning leaves no tensor behind');
  reset(rt);
});

t('the memory cache: the second call times nothing and makes the same choices', async ({ rt }) => {
  reset(rt);
  const cache = memoryTuningCache();
  const first = await tuneKernels(rt, workload, { timer: fakeTimer(rowsWinner(false)), cache });
  reset(rt);
  const second = await tuneKernels(rt, workload, { timer: failTimer, cache });
  assert.is(second.status, 'cached');
  assert.is(second.line, 'kernel choices from the cache (memory)');
  assert.equal(second.matmul, first.matmul);
  assert.is(second.rowPerThread, false);
  assert.equal(second.timings, first.timings);
  reset(rt);
});

t('the bounds: past the time budget a class keeps its default or its timed variants, and nothing past it is cached', async ({ rt }) => {
  reset(rt);
  const cache = memoryTuningCache();
  // The first variant timed takes the whole budget: its class is decided by it alone (its default), nothing else is timed.
  const slow = fakeTimer(rowsWinner(false));
  const timer: Timer = async (x, run) => { await new Promise((r) => setTimeout(r, 800)); return slow(x, run); };
  const k = await tuneKernels(rt, workload, { timer, cache, budgetMs: 600 });
  assert.is(slow.trials.length, 1);
  assert.is(k.status, 'tuned');
  assert.match(k.line, /1 timed in part, \d+ left at their defaults: past the 0.6 s or 16-class bound, timed on a later run/);
  assert.equal(await cache.load(tuningAdapterKey(rt)), {});
  assert.is(rt.tuning.rowPerThread, rt.adapter.software, 'one variant timed decides nothing');
  reset(rt);
  const none = await tuneKernels(rt, workload, { timer: failTimer, cache, budgetMs: 0 });
  assert.is(none.status, 'tuned');
  assert.match(none.line, /\(\d+ left at their defaults: past the 0 s or 16-class bound/);
  // At most two classes: those two are cached, and the next call times the rest.
  reset(rt);
  const two = fakeTimer(rowsWinner(false));
  await tuneKernels(rt, workload, { timer: two, cache, maxClasses: 2 });
  assert.is(new Set(two.trials.map((x) => x.key)).size, 2);
  assert.is(Object.keys(await cache.load(tuningAdapterKey(rt))).length, 2);
  reset(rt);
  const rest = fakeTimer(rowsWinner(false));
  const k3 = await tuneKernels(rt, workload, { timer: rest, cache });
  assert.ok(!rest.trials.some((x) => two.trials.some((y) => y.key === x.key)), 'the cached classes are not timed again');
  assert.match(k3.line, /\(2 of \d+ shape classes from the cache; cached: in memory\)$/);
  reset(rt);
});

t('WGPRUNE_TUNE=off (or tune: false) keeps the defaults and times nothing', async ({ rt }) => {
  reset(rt);
  const defaults = Object.fromEntries(workload.matmuls.map((m) => [keyOf(m), chooseKernel(rt, shapeOf(m)).kind]));
  const off = await tuneKernels(rt, workload, { tune: false, timer: failTimer });
  assert.is(off.status, 'off');
  assert.is(off.line, 'kernel tuning off (tune: false): the default kernels');
  assert.equal(off.matmul, defaults);
  assert.is(off.rowPerThread, rt.adapter.software);
  assert.is(rt.tuning.matmulChoices, undefined);
  if (!isNode) return skip('WGPRUNE_TUNE is read from the environment in Node');
  const saved = process.env.WGPRUNE_TUNE;
  process.env.WGPRUNE_TUNE = 'off';
  try {
    const env = await tuneKernels(rt, workload, { timer: failTimer });
    assert.is(env.status, 'off');
    assert.is(env.line, 'kernel tuning off (WGPRUNE_TUNE=off): the default kernels');
    assert.equal(env.matmul, defaults);
    assert.is(rt.tuning.rowPerThread, rt.adapter.software);
  } finally {
    if (saved === undefined) delete process.env.WGPRUNE_TUNE;
    else process.env.WGPRUNE_TUNE = saved;
  }
});

t('each tuned choice still matches the float64 product', async ({ rt }) => {
  let ran = 0;
  for (const m of workload.matmuls) {
    const key = keyOf(m);
    // What the tuner times: every kernel chooseKernel allows, less the subgroup kernel from
    // storage where the texture one runs (src/ops/autotune.ts says why).
    const kinds = [...new Set((['texture', 'subgroup', 'general'] as const).map((w) => chooseKernel(rt, shapeOf(m), w).kind))];
    const variants = kinds.includes('texture') ? kinds.filter((k) => k !== 'subgroup') : kinds;
    for (const want of variants) {
      reset(rt);
      const k = await tuneKernels(rt, { matmuls: [m], rows: [] }, { timer: fakeTimer((x) => (x.variant === want ? 1 : 2)), cache: null });
      assert.is(k.matmul[key], want);
      assert.is(chooseKernel(rt, shapeOf(m)).kind, want, `${key} runs ${want}`);
      const batch = m.batch;
      const a = f32(rand.uniform(batch * m.M * m.K)), b = f32(rand.uniform(batch * m.K * m.N)), bias = f32(rand.uniform(m.N));
      const lead = batch > 1 ? [batch] : [];
      const out = matmul(rt.tensor(a, [...lead, ...(m.transA ? [m.K, m.M] : [m.M, m.K])]), rt.tensor(b, [...lead, ...(m.transB ? [m.N, m.K] : [m.K, m.N])]), {
        transA: m.transA, transB: m.transB, ...(m.bias ? { bias: rt.tensor(bias, [m.N]) } : {}), ...(m.gelu ? { gelu: true } : {}),
      });
      const ref = matmulRef(a, b, batch, m.M, m.N, m.K, m.transA, m.transB);
      const bOf = (i: number) => (m.bias ? bias[i % m.N]! : 0);
      const want64 = ref.c.map((v, i) => (m.gelu ? geluRef(v + bOf(i)) : v + bOf(i)));
      const scales = ref.scale.map((s, i) => 1.2 * s + Math.abs(want64[i]!) + Math.abs(bOf(i)));
      assertClose(await out.read(), want64, `${m.what} (${key}) on the ${want} kernel`, { rtol: 1e-6, scales, atol: 1e-30 });
      ran++;
    }
  }
  assert.ok(ran >= workload.matmuls.length);
  reset(rt);
});

t('the file cache: written, read back, a foreign adapter ignored, a corrupt or foreign file ignored with one warning', async ({ rt }) => {
  if (!isNode) return skip('the cache file is Node only');
  const fs = await import('node:fs/promises'), os = await import('node:os'), path = await import('node:path');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wgprune-tune-'));
  try {
    const file = path.join(dir, 'sub', 'tuning.json');
    const warnings: string[] = [];
    const warn = (line: string) => warnings.push(line);
    reset(rt);
    const first = await tuneKernels(rt, workload, { timer: fakeTimer(rowsWinner(false)), cache: await fileTuningCache({ file, warn }) });
    assert.is(first.line.endsWith(`(cached: ${file})`), true, first.line);
    const json = JSON.parse(await fs.readFile(file, 'utf8'));
    assert.is(json.format, tuningFileFormat);
    assert.is(json.version, tuningFileVersion);
    const adapter = tuningAdapterKey(rt);
    assert.ok(adapter.endsWith(`; wgprune ${wgpruneVersion}`));
    assert.equal(Object.keys(json.adapters), [adapter]);
    assert.equal(Object.keys(json.adapters[adapter]).sort(), Object.keys(first.timings).sort());
    assert.equal((await fs.readdir(path.dirname(file))), ['tuning.json'], 'no temporary file left');

    // Read back by a new cache object: nothing timed, the same choices.
    reset(rt);
    const again = await tuneKernels(rt, workload, { timer: failTimer, cache: await fileTuningCache({ file, warn }) });
    assert.is(again.status, 'cached');
    assert.is(again.line, `kernel choices from the cache (${file})`);
    assert.equal(again.matmul, first.matmul);
    assert.is(again.rowPerThread, first.rowPerThread);

    // Another adapter's entries are not used, and are kept when this adapter's are written.
    const foreign = { format: tuningFileFormat, version: tuningFileVersion, adapters: { 'Some GPU (Dawn, Node); wgprune 0.0.1': json.adapters[adapter] } };
    await fs.writeFile(file, JSON.stringify(foreign));
    reset(rt);
    const timer = fakeTimer(rowsWinner(true));
    const other = await tuneKernels(rt, workload, { timer, cache: await fileTuningCache({ file, warn }) });
    assert.is(other.status, 'tuned');
    assert.is(timer.trials.length > 0, true);
    const after = JSON.parse(await fs.readFile(file, 'utf8'));
    assert.equal(Object.keys(after.adapters).sort(), [adapter, 'Some GPU (Dawn, Node); wgprune 0.0.1'].sort());
    assert.equal(warnings, []);

    // A corrupt file, then a foreign one: one warning line each, tuning goes on, the file is replaced.
    for (const [content, says] of [['{"format": "wgprune kernel tu', 'is not valid JSON'], ['{"some": "other tool"}', 'is not wgprune\'s']] as const) {
      await fs.writeFile(file, content);
      warnings.length = 0;
      reset(rt);
      const k = await tuneKernels(rt, workload, { timer: fakeTimer(rowsWinner(false)), cache: await fileTuningCache({ file, warn }) });
      assert.is(k.status, 'tuned');
      assert.is(warnings.length, 1, warnings.join('\n'));
      assert.ok(warnings[0]!.startsWith(`warning: kernel tuning cache ${file} ${says}`), warnings[0]);
      assert.equal(Object.keys(JSON.parse(await fs.readFile(file, 'utf8')).adapters), [adapter]);
    }

    // An entry naming a variant this adapter cannot run is timed again, not used.
    const doctored = JSON.parse(await fs.readFile(file, 'utf8'));
    for (const entry of Object.values(doctored.adapters[adapter]) as { best: string; ms: Record<string, number> }[]) { entry.best = 'warp-drive'; entry.ms['warp-drive'] = 0; }
    await fs.writeFile(file, JSON.stringify(doctored));
    reset(rt);
    const retimed = fakeTimer(rowsWinner(false));
    await tuneKernels(rt, workload, { timer: retimed, cache: await fileTuningCache({ file, warn }) });
    assert.ok(retimed.trials.some((x) => x.op === 'rows'), 'bad entries are timed again');
  } finally {
    reset(rt);
    await fs.rm(dir, { recursive: true, force: true });
  }
});

t('wgpruneVersion is package.json\'s version', async () => {
  if (!isNode) return skip('reads package.json from disk');
  const fs = await import('node:fs/promises'), path = await import('node:path');
  // Tests run from the repository's root (scripts/test.mjs).
  const pkg = JSON.parse(await fs.readFile(path.join(process.cwd(), 'package.json'), 'utf8')) as { version: string };
  assert.is(wgpruneVersion, pkg.version);
});

t.run();

// What RuntimeOptions.tuning gives always wins: those choices are never timed or changed.
const explicit = gpuSuite('kernel tuning under explicit choices', { tuning: { matmulKernel: 'general', rowPerThread: true } });
explicit('explicit matmulKernel and rowPerThread: nothing timed, nothing changed', async ({ rt }) => {
  const k = await tuneKernels(rt, workload, { timer: failTimer, cache: memoryTuningCache() });
  assert.is(k.status, 'fixed');
  assert.is(k.rowPerThread, true);
  for (const m of workload.matmuls) assert.is(k.matmul[keyOf(m)], 'general');
  assert.is(rt.tuning.matmulKernel, 'general');
});
explicit.run();

const firstKey = keyOf(workload.matmuls[0]!);
const given = gpuSuite('kernel tuning with rowPerThread and one class given', { tuning: { rowPerThread: false, matmulChoices: { [firstKey]: 'general' as MatmulKernel } } });
given('the rows keep the given flag, the given class its kernel; the other matmuls are tuned', async ({ rt }) => {
  const timer = fakeTimer((x, i) => (x.op === 'rows' ? (x.variant === 'rowPerThread' ? 1 : 2) : 10 - i));
  const k = await tuneKernels(rt, workload, { timer, cache: null });
  assert.is(timer.trials.filter((x) => x.op === 'rows').length, 0);
  assert.is(k.rowPerThread, false);
  assert.is(rt.tuning.rowPerThread, false);
  assert.ok(!timer.trials.some((x) => x.key === firstKey));
  assert.is(k.matmul[firstKey], 'general');
  assert.is(rt.tuning.matmulChoices?.[firstKey], 'general');
  if (rt.adapter.software) assert.ok(timer.trials.some((x) => x.op === 'matmul'), 'the other classes are timed');
});
given.run();
