/**
 * Reuses GPU buffers by size class so that a repeated step allocates nothing after its
 * first run. Sizes round up to a class (multiples of 256 bytes, then four classes per
 * power of two), so the waste is under 25% and near-equal sizes share buffers.
 */
export interface PoolStats {
  /** Buffers handed out and not yet released, and their bytes. */
  liveBuffers: number;
  liveBytes: number;
  /** Buffers kept for reuse. */
  freeBuffers: number;
  freeBytes: number;
}

export function sizeClass(bytes: number): number {
  const min = 256;
  if (bytes <= min) return min;
  if (bytes <= 16 * 1024) return Math.ceil(bytes / min) * min;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  const step = pow / 4;
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private live = 0;
  private liveBytesTotal = 0;
  private freeCount = 0;
  private freeBytesTotal = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
    private readonly label: string,
  ) {}

  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.freeCount--;
      this.freeBytesTotal -= size;
    } else {
      buffer = this.device.createBuffer({ size, usage: this.usage, label: `${this.label} ${size}` });
    }
    this.live++;
    this.liveBytesTotal += size;
    return buffer;
  }

  /** Returns a buffer for reuse. Work already recorded that reads it runs first, in queue order. */
  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
    this.live--;
    this.liveBytesTotal -= size;
    this.freeCount++;
    this.freeBytesTotal += size;
  }

  /** Destroys the buffers kept for reuse; only call with no recorded work pending. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.freeCount = 0;
    this.freeBytesTotal = 0;
  }

  stats(): PoolStats {
    return { liveBuffers: this.live, liveBytes: this.liveBytesTotal, freeBuffers: this.freeCount, freeBytes: this.freeBytesTotal };
  }

}
