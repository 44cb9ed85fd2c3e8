import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EncoderModel } from '../../src/models/model.js';
import { scale } from '../../src/ops/elementwise.js';
import { fisherInformation } from '../../src/prune/fisher.js';
import { BufferPool, sizeClass } from '../../src/runtime/pool.js';
import type { RuntimeStats } from '../../src/runtime/runtime.js';
import { randomSampleBatches } from '../helpers/batches.js';
import { assertClose } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { makeCheckpoint, smallConfig } from '../reference/model.js';

const rand = new Random();
const KiB = 1024, MiB = 1024 * 1024;

test('size classes cover the request and waste under a quarter', () => {
  for (let bytes = 1; bytes < 1 << 26; bytes = Math.ceil(bytes * 1.37) + 3) {
    const c = sizeClass(bytes);
    assert.ok(c >= bytes, `${c} < ${bytes}`);
    assert.ok(c % 256 === 0, `${c} is not a multiple of 256`);
    if (bytes > 256) assert.ok(c <= bytes * 1.25 + 256, `${c} wastes too much for ${bytes}`);
  }
});

test('near sizes share a class, so repeated steps reuse buffers', () => {
  assert.is(sizeClass(1000), sizeClass(1024));
  assert.is(sizeClass(3_000_000), sizeClass(3_100_000));
});

test.run();

// --- the pool on a device ---------------------------------------------------------

const p = gpuSuite('buffer pool');
const usage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;

p('a request takes the smallest free buffer of at most twice its size class', ({ rt }) => {
  const pool = new BufferPool(rt.device, usage(), 'test', { floorBytes: 1 << 30 });
  const [a, b, c] = [40 * KiB, 100 * KiB, MiB].map((n) => pool.acquire(n)) as [GPUBuffer, GPUBuffer, GPUBuffer];
  for (const x of [c, a, b]) pool.release(x);
  assert.is(pool.stats().createdBuffers, 3);
  assert.is(pool.acquire(32 * KiB), a, '32 KiB takes the 40 KiB buffer, not the larger ones');
  assert.is(pool.acquire(60 * KiB), b, '60 KiB (class 64 KiB) takes the 112 KiB buffer');
  const d = pool.acquire(300 * KiB);
  assert.ok(d !== c, '300 KiB (class 320 KiB) does not take 1 MiB, more than twice its class');
  assert.is(d.size, sizeClass(300 * KiB));
  assert.is(pool.acquire(MiB - 5), c, 'a near size takes the same class');
  const s = pool.stats();
  assert.is(s.createdBuffers, 4);
  assert.is(s.liveBuffers, 4);
  assert.is(s.liveBytes, a.size + b.size + c.size + d.size, 'live bytes count the buffers handed out, not the requests');
  assert.is(s.peakRequestBytes, (32 + 64 + 320) * KiB + MiB, 'the peak counts the requests (their classes), which set the cap');
  assert.is(s.freeBytes, 0);
  pool.trim();
});

p('free bytes stay under max(floor, peak of live requests); the least recently released go first', ({ rt }) => {
  const floor = 64 * KiB;
  const pool = new BufferPool(rt.device, usage(), 'test', { floorBytes: floor });
  // One buffer at a time, of growing size classes (8 KiB, 8.25 KiB, ...), so that no earlier
  // one can serve the next: without a cap, the free list would keep them all.
  const released: GPUBuffer[] = [];
  for (let i = 0, size = 8 * KiB; i < 16; i++, size = sizeClass(size + 1)) {
    const b = pool.acquire(size);
    assert.ok(!released.includes(b), 'no free buffer fits');
    pool.release(b);
    released.push(b);
    const s = pool.stats();
    assert.is(s.freeCapBytes, Math.max(floor, s.peakRequestBytes));
    assert.ok(s.freeBytes <= s.freeCapBytes, `free ${s.freeBytes} > cap ${s.freeCapBytes}`);
    assert.is(s.freeBytes + s.retiredBytes, released.reduce((n, x) => n + x.size, 0), 'every byte is free or retired');
  }
  const s = pool.stats();
  assert.is(s.peakRequestBytes, released[15]!.size, 'one buffer live at a time');
  assert.ok(s.evictedBuffers > 0 && s.retiredBuffers === s.evictedBuffers, 'evicted buffers wait to be destroyed');
  // The survivors are the most recently released: the last one, and not the first.
  const last = released[15]!, first = released[0]!;
  const reused = [pool.acquire(last.size), pool.acquire(first.size)];
  assert.is(reused[0], last);
  assert.ok(reused[1] !== first, 'the first released was evicted');
  for (const x of reused) pool.release(x);
  pool.destroyRetired();
  assert.is(pool.stats().retiredBytes, 0);
  // A peak of live bytes above the floor raises the cap with it.
  const big = [pool.acquire(MiB), pool.acquire(MiB)];
  for (const b of big) pool.release(b);
  assert.is(pool.stats().freeCapBytes, pool.stats().peakRequestBytes);
  assert.ok(pool.stats().freeBytes >= 2 * MiB, 'both kept: they were live at once');
  pool.trim();
  const t = pool.stats();
  assert.is(t.freeBytes + t.retiredBytes, 0);
  assert.is(t.liveBytes, 0);
  assert.is(t.peakRequestBytes, 0, 'trim forgets the peak');
  assert.is(t.freeCapBytes, floor);
});

p.run();

// --- eviction waits for the submit ------------------------------------------------

const e = gpuSuite('buffer pool eviction', { poolFloorBytes: 0 });

e('a buffer still read by recorded work is destroyed only after the work is submitted', async ({ rt }) => {
  await rt.sync();
  const n = 4096;
  const data = rand.uniform(n);
  const x = rt.tensor(data, [n]);
  const y = scale(x, 2); // recorded, not submitted
  x.dispose(); // x's buffer is free, and the recorded kernel still reads it
  const before = rt.stats();
  // Tensors of growing sizes, each disposed at once: the free bytes pass the peak of live
  // requests (the cap, with no floor), and the least recently released, x's buffer, is evicted.
  for (let k = 1; k <= 4; k++) rt.empty([n * 4 ** k]).dispose();
  const mid = rt.stats();
  assert.is(mid.submits, before.submits, 'nothing was submitted meanwhile');
  assert.ok(mid.evictedBuffers >= before.evictedBuffers + 2, `evicted ${mid.evictedBuffers - before.evictedBuffers}`);
  assert.ok(mid.freeBytes <= mid.freeCapBytes);
  // Destroyed before the submit, x's buffer would fail it: "used in submit while destroyed".
  const got = await y.read();
  assertClose(got, Array.from(Float32Array.from(data), (v) => 2 * v), 'y = 2x read after x was evicted', { rtol: 1e-6 });
  assert.ok(mid.retiredBuffers > 0, 'evicted buffers waited for the submit');
  const after = rt.stats();
  assert.is(after.retiredBuffers, 0, 'destroyed after the submit');
  assert.is(after.retiredBytes, 0);
  y.dispose();
});

e.run();

// --- a prune's memory does not grow with its sample count -------------------------

// A floor of 0 caps the free list at the peak of live requests, as it is for a model whose
// steps need more than the default floor (64 MiB).
const m = gpuSuite('buffer pool under a Fisher pass', { poolFloorBytes: 0 });

m('pooled and live bytes after 100 batches of varied lengths are no more than after 10', async ({ rt }) => {
  const config = smallConfig('BertForSequenceClassification', {
    num_labels: 2, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64, num_hidden_layers: 1, vocab_size: 40, max_position_embeddings: 48,
  });
  const model = await EncoderModel.load(rt, config, makeCheckpoint(rand, config).source);
  // Padded lengths 4 ... 48, a fixed draw (the pool sees only sizes, so its behaviour is the
  // same every run): the first ten batches hold the shortest and the longest, so the peak of
  // live requests is reached by then; the other 90 vary in between, each new length asking for
  // sizes of its own.
  const draw = new Random(12);
  const lengths = [48, 4, ...Array.from({ length: 98 }, () => 4 + Math.floor(draw.uniform(1, 0, 45)[0]!))];
  const batches = lengths.map((seq) => randomSampleBatches(rand, 1, 4, seq)[0]!);
  const at: Record<number, RuntimeStats> = {};
  const t0 = performance.now();
  const fi = await fisherInformation(model, batches, { onProgress: (done) => { if (done === 10 || done === 100) at[done] = rt.stats(); } });
  const ms = performance.now() - t0;
  const [s10, s100] = [at[10]!, at[100]!];
  const mib = (b: number) => `${(b / MiB).toFixed(2)} MiB`;
  console.log(`  after 10 batches: live ${mib(s10.liveBytes)}, free ${mib(s10.freeBytes)} (cap ${mib(s10.freeCapBytes)}), ${s10.createdBuffers} buffers created; `
    + `after 100: live ${mib(s100.liveBytes)}, free ${mib(s100.freeBytes)} (cap ${mib(s100.freeCapBytes)}), ${s100.createdBuffers} created, ${s100.evictedBuffers} evicted (${(ms / 1000).toFixed(1)} s)`);
  // Slack: 1/8 of what the pool held after 10 batches. The free list fills up to its cap in
  // whole buffers (the largest here, a batch's attention scores, is about 8% of the cap),
  // so after 10 batches it may sit a buffer below the cap it reaches later.
  const slack = (s10.liveBytes + s10.freeBytes) / 8;
  assert.ok(s100.freeBytes <= s10.freeBytes + slack, `pooled (free) bytes grew from ${mib(s10.freeBytes)} to ${mib(s100.freeBytes)}`);
  assert.ok(s100.liveBytes <= s10.liveBytes + slack, `live bytes grew from ${mib(s10.liveBytes)} to ${mib(s100.liveBytes)}`);
  assert.is(s100.liveBuffers, s10.liveBuffers, 'the same tensors are live');
  assert.is(s100.freeCapBytes, s10.freeCapBytes, 'the peak was reached in the first ten batches');
  assert.ok(s100.freeBytes <= s100.freeCapBytes, 'free bytes under the cap');
  assert.is(s100.retiredBytes, 0, 'evicted buffers were destroyed after their submit');
  assert.is(fi.examples, 400);
  model.dispose();
});

m.run();
