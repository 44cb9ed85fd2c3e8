import type { DType, HostArray } from './dtype.js';
import { bytesPerElement } from './dtype.js';
import { DisposedError, ShapeError } from './errors.js';
import type { Runtime } from './runtime.js';

/** A GPU buffer shared by a tensor and its views; back to the pool when the last one goes. */
export class Storage {
  refs = 1;
  constructor(readonly buffer: GPUBuffer, readonly byteLength: number) {}
}

/**
 * What a tensor needs of its runtime, and all it may call: counted while alive (tidy's
 * scopes, leak checks), its storage handed back when the last view is disposed. The
 * runtime gives its tensors this narrow object and keeps the methods private.
 */
export interface TensorHost {
  created(t: Tensor): void;
  disposed(t: Tensor): void;
  release(storage: Storage): void;
}

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: Shape, what = 'shape'): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${what} [${shape.join(', ')}] has a dimension that is not a non-negative integer`);
  }
}

export function shapeString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/**
 * A dense row-major tensor: a window of `size` elements starting at element `offset` of a
 * storage buffer. Views (reshape, rows) share the storage and cost no copy.
 */
export class Tensor {
  readonly size: number;
  private disposedFlag = false;

  constructor(
    readonly runtime: Runtime,
    private readonly host: TensorHost,
    readonly shape: Shape,
    readonly dtype: DType,
    readonly storage: Storage,
    /** In elements. */
    readonly offset = 0,
  ) {
    this.size = sizeOf(shape);
    host.created(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.disposedFlag;
  }

  get byteOffset(): number {
    return this.offset * bytesPerElement[this.dtype];
  }

  get byteLength(): number {
    return this.size * bytesPerElement[this.dtype];
  }

  toString(): string {
    return `tensor${shapeString(this.shape)} ${this.dtype}`;
  }

  /** Throws if this tensor cannot be used by `op`. */
  check(op: string): this {
    if (this.disposedFlag) throw new DisposedError(`${op}: ${this} was used after dispose()`);
    this.runtime.checkAlive(op);
    return this;
  }

  /** Same data, new shape; one dimension may be -1. No copy. */
  reshape(shape: Shape): Tensor {
    this.check('reshape');
    const dims = [...shape];
    const free = dims.indexOf(-1);
    if (free >= 0) {
      const rest = sizeOf(dims.filter((_, i) => i !== free));
      if (rest === 0 || this.size % rest !== 0) throw new ShapeError(`reshape: cannot reshape ${this} to ${shapeString(shape)}`);
      dims[free] = this.size / rest;
    }
    checkShape(dims, 'reshape');
    if (sizeOf(dims) !== this.size) {
      throw new ShapeError(`reshape: ${this} has ${this.size} elements, ${shapeString(shape)} has ${sizeOf(dims)}`);
    }
    return this.view(dims, this.offset);
  }

  /** Rows [start, end) of the first axis, as a view. No copy. */
  rows(start: number, end: number): Tensor {
    this.check('rows');
    const n = this.shape[0];
    if (n === undefined || !(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= n)) {
      throw new ShapeError(`rows: range [${start}, ${end}) is outside the first axis of ${this}`);
    }
    const inner = n === 0 ? 0 : this.size / n;
    return this.view([end - start, ...this.shape.slice(1)], this.offset + start * inner);
  }

  private view(shape: Shape, offset: number): Tensor {
    this.storage.refs++;
    return new Tensor(this.runtime, this.host, shape, this.dtype, this.storage, offset);
  }

  /** Copies the data back to the host (f16 widens to float32). */
  read(): Promise<HostArray> {
    this.check('read');
    return this.runtime.read(this);
  }

  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    this.host.disposed(this);
    if (--this.storage.refs === 0) this.host.release(this.storage);
  }
}
