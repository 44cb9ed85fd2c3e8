/**
 * Dawn's Node binding learns that GPU work has finished by polling: while any promise of
 * its is pending, native code calls the global `setImmediate` to run `ProcessEvents` on
 * the next turn of the event loop, again and again (crbug.com/dawn/1127). The main thread
 * then spins at 100% of a core. On a GPU that costs nothing, but on lavapipe the "GPU" is
 * the CPU's other threads, and on 2 cores the spin takes a third of the machine from the
 * driver's workers: measured here, a 512x768x3072 matmul ran 600 ms spinning and 430 ms
 * with the polls slowed (512x768x768: 151 → 102 ms).
 *
 * So while the runtime waits for the device (`patientWait`), Dawn's polls go on at once
 * for the first `spinMs`, which keeps short steps as quick as before, and then each waits
 * `napMs` first, asleep in `Atomics.wait` (no core used; finer than a 1 ms timer). Only
 * Dawn's own callbacks are slowed: they are the native functions handed to `setImmediate`;
 * any JavaScript callback runs as usual. Measured here, 4 runs each: a 12x128x64x128
 * product 4.7-4.8 ms per step against 5.1-6.5 ms with 1 ms timers after a 1 ms spin, and
 * steps under 1 ms unchanged (0.6-0.8 ms); spinning 4 ms made 5-8 ms steps share the core.
 */

/** How long a wait polls at full speed before napping between polls. */
export const spinMs = 0.3;
/** The nap before each later poll. */
export const napMs = 0.5;

let waiting = 0;
let since = 0;
let naps = 0;
let installed = false;
const napCell = typeof SharedArrayBuffer === 'function' ? new Int32Array(new SharedArrayBuffer(4)) : null;

function isNative(fn: unknown): boolean {
  return typeof fn === 'function' && fn.name === '' &&
    Function.prototype.toString.call(fn).endsWith('{ [native code] }');
}

/** Wraps the global `setImmediate` (once per process); a no-op where there is none. */
export function installPatientPolling(): void {
  const g = globalThis as { setImmediate?: (fn: (...a: unknown[]) => void, ...args: unknown[]) => unknown };
  if (installed || typeof g.setImmediate !== 'function' || !napCell) return;
  installed = true;
  const immediate = g.setImmediate;
  const cell = napCell;
  const patient = (fn: (...a: unknown[]) => void, ...args: unknown[]): unknown => {
    if (waiting > 0 && performance.now() - since > spinMs && isNative(fn)) {
      naps++;
      Atomics.wait(cell, 0, 0, napMs);
    }
    return immediate(fn, ...args);
  };
  // util.promisify(setImmediate) and friends look for these.
  Object.assign(patient, immediate);
  g.setImmediate = patient as typeof g.setImmediate;
}

/** Awaits `p`, a promise that Dawn settles, letting its polls nap after `spinMs`. */
export async function patientWait<T>(p: Promise<T>): Promise<T> {
  if (waiting++ === 0) since = performance.now();
  try {
    return await p;
  } finally {
    waiting--;
  }
}

/** Whether Dawn's polls are being slowed now, and how many naps so far (for tests). */
export function pollingState(): { installed: boolean; waiting: number; naps: number } {
  return { installed, waiting, naps };
}
