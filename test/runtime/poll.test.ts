import * as assert from 'uvu/assert';
import { matmul } from '../../src/ops/matmul.js';
import { napMs, patientWait, pollingState, spinMs } from '../../src/runtime/poll.js';
import { gpuSuite, skip } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';

const rand = new Random();
const hasImmediate = typeof (globalThis as { setImmediate?: unknown }).setImmediate === 'function';
const kindOf = (handle: unknown) => (handle as { constructor?: { name?: string } })?.constructor?.name;

/** A stand-in for the callback Dawn's binding schedules: a native function with no name. */
function dawnLikeCallback(onRun: () => void): () => void {
  const fn = onRun.bind(null);
  Object.defineProperty(fn, 'name', { value: '' });
  return fn;
}

const p = gpuSuite('patient polling');

p('is installed with Dawn in Node, and nowhere else', ({ rt }) => {
  assert.is(pollingState().installed, rt.adapter.host === 'dawn' && hasImmediate);
});

p("past spinMs of a wait, Dawn's polls nap first; JavaScript callbacks never do", async () => {
  if (!pollingState().installed) return skip('no Dawn in this runtime');
  const naps = () => pollingState().naps;
  let release!: () => void;
  const wait = patientWait(new Promise<void>((r) => { release = r; }));
  await new Promise((r) => setTimeout(r, spinMs + 2));
  let ran = false;
  let before = naps();
  const t0 = performance.now();
  assert.is(kindOf(setImmediate(dawnLikeCallback(() => { ran = true; }))), 'Immediate');
  assert.is(naps(), before + 1, 'a native poll naps later in the wait');
  assert.ok(performance.now() - t0 >= napMs * 0.9, `the nap lasts ${napMs} ms`);
  before = naps();
  setImmediate(() => {});
  assert.is(naps(), before, 'a JavaScript callback does not nap');
  release();
  await wait;
  await new Promise((r) => setTimeout(r, 5));
  assert.ok(ran, 'the napped poll still runs');
  before = naps();
  setImmediate(dawnLikeCallback(() => {}));
  assert.is(naps(), before, 'outside a wait, polls do not nap');
});

p('a wait ends its count when the promise rejects, and the error reaches the caller', async () => {
  const before = pollingState().waiting;
  try {
    await patientWait(Promise.reject(new Error('lost')));
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.is((e as Error).message, 'lost');
  }
  assert.is(pollingState().waiting, before);
});

p('long steps still finish and read back right with slowed polls', async ({ rt }) => {
  const a = rand.uniform(96 * 160), b = rand.uniform(160 * 200);
  const c = await matmul(rt.tensor(a, [96, 160]), rt.tensor(b, [160, 200])).read();
  let s = 0;
  for (let k = 0; k < 160; k++) s += a[95 * 160 + k]! * b[k * 200 + 199]!;
  assert.ok(Math.abs(c[95 * 200 + 199]! - s) < 1e-4 * (1 + Math.abs(s)));
  assert.is(pollingState().waiting, 0);
});

p.run();
