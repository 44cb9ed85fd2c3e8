/**
 * Waits until this process is nearly idle: less than `quiet` of one core over `windowMs`,
 * for at most `maxMs`. Setting up a peer leaves work running in the background that would
 * otherwise steal the 2 cores from whatever is measured next: V8 compiles ONNX Runtime Web's
 * 27 MB WebAssembly module on background threads for up to a minute on this machine, after
 * session creation has returned. Returns the seconds waited.
 */
export async function settle({ quiet = 0.1, windowMs = 500, maxMs = 240_000 } = {}): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const cpu0 = process.cpuUsage(), w0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const cpu = process.cpuUsage(cpu0);
    const busy = (cpu.user + cpu.system) / 1000 / (performance.now() - w0);
    if (busy < quiet || performance.now() - t0 > maxMs) return (performance.now() - t0) / 1000;
  }
}
