/**
 * Dawn's Node binding learns that GPU work has finished by polling: while any promise of
 * its is pending, native code calls the global `setImmediate` to run `ProcessEvents` on
 * the next turn of the event loop, again and again (crbug.com/dawn/1127). The main thread
 * then spins at 100% of a core. On a GPU that costs nothing, but on lavapipe the "GPU" is
 * the CPU's other threads, and on 2 cores the spin takes a third of the machine from the
 * driver's workers: measured here, a 512x768x3072 matmul ran 534 ms spinning and 436 ms
 * with the polls below (512x768x768: 133 → 94 ms).
 *
 * So while the runtime waits for the device (`patientWait`), Dawn's polls go on at once
 * for the first `spinMs`, which keeps short steps as quick as before, and then become 1 ms
 * timers, which let the thread sleep. 1 ms was the best of 0, 0.3, 1 and 4 here: a step
 * of 8 launches ran 0.55-0.65 ms with 1 ms or more (1.8 ms without spinning), a 12x128x64x128
 * product 5.3-6.8 ms (7.7-8.7 ms spinning 4 ms, when the kernel had to share the core). Only Dawn's own callbacks are slowed: they are the
 * native functions handed to `setImmediate`; any JavaScript callback runs as usual.
 */

/** How long a wait polls at full speed before sleeping 1 ms between polls. */
export const spinMs = 1;

let waiting = 0;
let since = 0;
let installed = false;

function isNative(fn: unknown): boolean {
  return typeof fn === 'function' && fn.name === '' &&
    Function.prototype.toString.call(fn).endsWith('{ [native code] }');
}

/** Wraps the global `setImmediate` (once per process); a no-op where there is none. */
export function installPatientPolling(): void {
  const g = globalThis as { setImmediate?: (fn: (...a: unknown[]) => void, ...args: unknown[]) => unknown };
  if (installed || typeof g.setImmediate !== 'function') return;
  installed = true;
  const immediate = g.setImmediate;
  const patient = (fn: (...a: unknown[]) => void, ...args: unknown[]): unknown =>
    waiting > 0 && performance.now() - since > spinMs && isNative(fn)
      ? setTimeout(fn, 1, ...args)
      : immediate(fn, ...args);
  // util.promisify(setImmediate) and friends look for these.
  Object.assign(patient, immediate);
  g.setImmediate = patient as typeof g.setImmediate;
}

/** Awaits `p`, a promise that Dawn settles, letting its polls sleep after `spinMs`. */
export async function patientWait<T>(p: Promise<T>): Promise<T> {
  if (waiting++ === 0) since = performance.now();
  try {
    return await p;
  } finally {
    waiting--;
  }
}

/** Whether Dawn's polls are being slowed now (for tests). */
export function pollingState(): { installed: boolean; waiting: number } {
  return { installed, waiting };
}
