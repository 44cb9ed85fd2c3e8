/**
 * Reuses GPU buffers so that a repeated step allocates nothing after its first run, and
 * keeps what it holds for reuse bounded, so that steps of ever new shapes (batches of
 * varied sequence length) do not grow it without end.
 *
 * - Sizes round up to a class (multiples of 256 bytes, then four classes per power of two),
 *   so a new buffer wastes under 25% and near-equal sizes share buffers.
 * - A request takes the smallest free buffer of at least its class and at most twice it, so
 *   nearby shapes reuse each other's buffers rather than each adding classes of their own.
 * - The free bytes are capped at max(`floorBytes`, the peak of live bytes requested): no
 *   step needs more spare buffers than were ever live at once to run again without
 *   allocating, and the peak is set by the largest step, not by how many steps ran. (It
 *   counts requests rounded to their class, not the buffers that served them, which may be
 *   larger: so it depends on the work alone and does not creep up with each reuse of a
 *   larger buffer.) Past the cap, the least recently released buffers go first.
 * - Work recorded but not yet submitted may still use an evicted buffer, so it is only
 *   destroyed by `destroyRetired`, which the runtime calls after its next submit (a
 *   destroyed buffer's submitted work still runs to completion).
 *
 * All device memory the pool holds is then liveBytes + freeBytes + retiredBytes, with
 * freeBytes ≤ freeCapBytes.
 */
export interface PoolStats {
  /** Buffers handed out and not yet released, and their bytes (buffer sizes, not requests). */
  liveBuffers: number;
  liveBytes: number;
  /** Buffers kept for reuse. */
  freeBuffers: number;
  freeBytes: number;
  /**
   * The most bytes requested (rounded to size classes) live at once, since the pool was made
   * or last trimmed; liveBytes may be larger, as a request may take a buffer up to twice its class.
   */
  peakRequestBytes: number;
  /** The most free bytes kept: max(the floor, peakRequestBytes). */
  freeCapBytes: number;
  /** Buffers evicted from the free list, awaiting destruction after the next submit. */
  retiredBuffers: number;
  retiredBytes: number;
  /** Buffers created, and evicted, over the pool's life: the allocation churn. */
  createdBuffers: number;
  evictedBuffers: number;
}

/** The free bytes a pool keeps for reuse whatever its peak (see BufferPool). */
export const DEFAULT_POOL_FLOOR_BYTES = 64 * 1024 * 1024;

export function sizeClass(bytes: number): number {
  const min = 256;
  if (bytes <= min) return min;
  if (bytes <= 16 * 1024) return Math.ceil(bytes / min) * min;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  const step = pow / 4;
  return Math.ceil(bytes / step) * step;
}

export interface BufferPoolOptions {
  /** Free bytes kept for reuse even when the peak of live bytes is lower (default 64 MiB). */
  floorBytes?: number;
}

export class BufferPool {
  /** Free buffers by size, each list in release order (oldest first). */
  private readonly free = new Map<number, GPUBuffer[]>();
  /** The sizes that have free buffers, ascending. */
  private sizes: number[] = [];
  /** Every free buffer, in release order (a Set keeps insertion order): the eviction order. */
  private readonly order = new Set<GPUBuffer>();
  private retired: GPUBuffer[] = [];
  private readonly floorBytes: number;
  /** Live buffers and the size class each was requested at. */
  private readonly requested = new Map<GPUBuffer, number>();
  private requestedBytes = 0;
  private peakRequested = 0;
  private live = 0;
  private liveBytesTotal = 0;
  private freeCount = 0;
  private freeBytesTotal = 0;
  private retiredBytesTotal = 0;
  private created = 0;
  private evicted = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
    private readonly label: string,
    options: BufferPoolOptions = {},
  ) {
    this.floorBytes = Math.max(0, options.floorBytes ?? DEFAULT_POOL_FLOOR_BYTES);
  }

  /** A buffer of at least `bytes` (its size may be up to twice the size class of `bytes`). */
  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    let buffer = this.takeFree(size);
    if (!buffer) {
      buffer = this.device.createBuffer({ size, usage: this.usage, label: `${this.label} ${size}` });
      this.created++;
    }
    this.live++;
    this.liveBytesTotal += buffer.size;
    this.requested.set(buffer, size);
    this.requestedBytes += size;
    if (this.requestedBytes > this.peakRequested) this.peakRequested = this.requestedBytes;
    return buffer;
  }

  /**
   * Returns a buffer for reuse. Work already recorded that reads it runs first, in queue
   * order. If the free bytes pass the cap, the least recently released buffers are retired.
   */
  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    let list = this.free.get(size);
    if (!list) {
      this.free.set(size, (list = []));
      this.sizes.splice(lowerBound(this.sizes, size), 0, size);
    }
    list.push(buffer);
    this.order.add(buffer);
    this.requestedBytes -= this.requested.get(buffer) ?? size;
    this.requested.delete(buffer);
    this.live--;
    this.liveBytesTotal -= size;
    this.freeCount++;
    this.freeBytesTotal += size;
    this.evict(this.freeCap());
  }

  /** Destroys the buffers evicted so far; the runtime calls it once recorded work is submitted. */
  destroyRetired(): void {
    for (const b of this.retired) b.destroy();
    this.retired = [];
    this.retiredBytesTotal = 0;
  }

  /**
   * Destroys the buffers kept for reuse and those retired, and forgets the peak; only call
   * with no recorded work pending.
   */
  trim(): void {
    this.evict(0);
    this.destroyRetired();
    this.peakRequested = this.requestedBytes;
  }

  stats(): PoolStats {
    return {
      liveBuffers: this.live, liveBytes: this.liveBytesTotal,
      freeBuffers: this.freeCount, freeBytes: this.freeBytesTotal,
      peakRequestBytes: this.peakRequested, freeCapBytes: this.freeCap(),
      retiredBuffers: this.retired.length, retiredBytes: this.retiredBytesTotal,
      createdBuffers: this.created, evictedBuffers: this.evicted,
    };
  }

  private freeCap(): number {
    return Math.max(this.floorBytes, this.peakRequested);
  }

  /** The most recently released buffer of the smallest free size in [size, 2·size], if any. */
  private takeFree(size: number): GPUBuffer | undefined {
    const i = lowerBound(this.sizes, size);
    const fit = this.sizes[i];
    if (fit === undefined || fit > 2 * size) return undefined;
    const list = this.free.get(fit)!;
    const buffer = list.pop()!;
    if (list.length === 0) this.dropSize(fit, i);
    this.order.delete(buffer);
    this.freeCount--;
    this.freeBytesTotal -= fit;
    return buffer;
  }

  /** Retires the least recently released buffers until the free bytes are at most `cap`. */
  private evict(cap: number): void {
    while (this.freeBytesTotal > cap) {
      const oldest = this.order.values().next().value as GPUBuffer;
      this.order.delete(oldest);
      const size = oldest.size;
      const list = this.free.get(size)!;
      // Lists are in release order too, so the oldest of all is the first of its size.
      list.shift();
      if (list.length === 0) this.dropSize(size, lowerBound(this.sizes, size));
      this.freeCount--;
      this.freeBytesTotal -= size;
      this.retired.push(oldest);
      this.retiredBytesTotal += size;
      this.evicted++;
    }
  }

  private dropSize(size: number, index: number): void {
    this.free.delete(size);
    this.sizes.splice(index, 1);
  }
}

/** The first index of ascending `a` whose value is at least `x`. */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
