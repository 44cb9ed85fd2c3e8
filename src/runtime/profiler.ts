/**
 * Device time per kernel, from timestamp queries: with `createRuntime({ profile: true })`
 * on an adapter with 'timestamp-query', every launch runs in its own compute pass that
 * writes a timestamp at its start and end. Passes cost a little each, so profile to find
 * where time goes, not to measure a total (bench/ does that). `WGPRUNE_PROFILE=1` turns it
 * on for the CLI and benches.
 */
export interface KernelTime {
  name: string;
  launches: number;
  /** Device time summed over launches, in milliseconds. */
  ms: number;
}

/** WebGPU's most queries in one query set: two a launch, so a profiled step flushes by 2,048 launches. */
export const maxProfiledLaunches = 2048;

export class KernelProfiler {
  private readonly totals = new Map<string, { launches: number; ns: number }>();
  private readonly reads = new Set<Promise<void>>();
  private names: string[] = [];
  private querySet: GPUQuerySet | null = null;
  private capacity = 0;

  constructor(private readonly device: GPUDevice) {}

  /** A compute pass for one launch of `name` that stamps its start and end. */
  pass(encoder: GPUCommandEncoder, name: string, launches: number): GPUComputePassEncoder {
    if (this.names.length === 0 && this.capacity < 2 * launches) {
      this.querySet?.destroy();
      this.capacity = Math.min(2 * maxProfiledLaunches, Math.max(2 * launches, 256));
      this.querySet = this.device.createQuerySet({ type: 'timestamp', count: this.capacity, label: 'profile' });
    }
    const i = this.names.length;
    this.names.push(name);
    return encoder.beginComputePass({
      label: name, timestampWrites: { querySet: this.querySet!, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    });
  }

  /** Resolves this command buffer's timestamps; after its submit, `collect` reads them. */
  resolve(encoder: GPUCommandEncoder): (() => void) | null {
    const names = this.names;
    this.names = [];
    if (names.length === 0) return null;
    const bytes = names.length * 16;
    const resolved = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const readback = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet!, 0, names.length * 2, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, readback, 0, bytes);
    return () => {
      const read = readback.mapAsync(GPUMapMode.READ).then(() => {
        const t = new BigUint64Array(readback.getMappedRange());
        names.forEach((name, k) => {
          const entry = this.totals.get(name) ?? { launches: 0, ns: 0 };
          entry.launches++;
          entry.ns += Math.max(0, Number(t[2 * k + 1]! - t[2 * k]!));
          this.totals.set(name, entry);
        });
        readback.unmap();
      }, () => {}).finally(() => {
        resolved.destroy();
        readback.destroy();
        this.reads.delete(read);
      });
      this.reads.add(read);
    };
  }

  /** Totals so far, slowest kernel first; waits for timestamps still being read. */
  async report(): Promise<KernelTime[]> {
    await Promise.all([...this.reads]);
    return [...this.totals.entries()].map(([name, v]) => ({ name, launches: v.launches, ms: v.ns / 1e6 })).sort((a, b) => b.ms - a.ms);
  }

  reset(): void {
    this.totals.clear();
  }
}
