/** Base class of every error wgprune throws on purpose; the message says what to do. */
export class WgpruneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** No WebGPU adapter could be had: the message says how to get one. */
export class NoAdapterError extends WgpruneError {}

/** The device was lost (driver crash, reset, or destroyed); pending reads reject with this. */
export class DeviceLostError extends WgpruneError {}

/** A validation or out-of-memory error reported by the device, naming the kernel. */
export class KernelError extends WgpruneError {}

/** Tensors whose shapes or dtypes do not fit the operation. */
export class ShapeError extends WgpruneError {}
export class DTypeError extends WgpruneError {}

/** A tensor used after dispose(), or after its runtime was destroyed. */
export class DisposedError extends WgpruneError {}

/** Input that exceeds what the device can take even after splitting. */
export class LimitError extends WgpruneError {}

/** A token id, position or label outside the table or classes it indexes. */
export class IdRangeError extends WgpruneError {}

/** A model folder whose config or weights do not describe a model we can run. */
export class ModelError extends WgpruneError {}

/** A bad command line: an unknown option, a missing or malformed value. The CLI exits with status 2. */
export class UsageError extends WgpruneError {}
