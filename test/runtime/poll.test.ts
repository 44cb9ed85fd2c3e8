import * as assert from 'uvu/assert';
import { matmul } from '../../src/ops/matmul.js';
import { patientWait, pollingState, spinMs } from '../../src/runtime/poll.js';
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

p("past spinMs of a wait, Dawn's polls become timers; JavaScript callbacks never do", async () => {
  if (!pollingState().installed) return skip('no Dawn in this runtime');
  let release!: () => void;
  const wait = patientWait(new Promise<void>((r) => { release = r; }));
  const early = setImmediate(dawnLikeCallback(() => {}));
  assert.is(kindOf(early), 'Immediate', 'polls at once at the start of a wait');
  await new Promise((r) => setTimeout(r, spinMs + 5));
  let ran = false;
  const late = setImmediate(dawnLikeCallback(() => { ran = true; }));
  assert.is(kindOf(late), 'Timeout', 'a 1 ms timer later in the wait');
  assert.is(kindOf(setImmediate(() => {})), 'Immediate', 'a JavaScript callback runs at once');
  release();
  await wait;
  await new Promise((r) => setTimeout(r, 5));
  assert.ok(ran, 'the delayed poll still runs');
  assert.is(kindOf(setImmediate(dawnLikeCallback(() => {}))), 'Immediate', 'outside a wait, polls are immediate');
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
