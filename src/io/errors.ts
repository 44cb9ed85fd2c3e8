import { WgpruneError } from '../runtime/errors.js';

/**
 * A checkpoint file that is malformed, truncated or inconsistent. The message names the
 * file, the tensor or entry where it applies, and the problem.
 */
export class CheckpointError extends WgpruneError {}

/**
 * A well-formed checkpoint using something wgprune does not read: a compressed zip entry,
 * a non-float tensor read as float, a non-contiguous tensor, big-endian data.
 */
export class UnsupportedCheckpointError extends WgpruneError {}

/**
 * A pickle that asks for something outside the allow-list of what torch.save writes for a
 * state dict (any other global, or an opcode that builds arbitrary objects). Nothing in it
 * was executed: the unpickler never imports or calls anything.
 */
export class UnsafePickleError extends WgpruneError {}

/** A model folder without a weights file (or config.json), listing what was looked for. */
export class WeightsNotFoundError extends WgpruneError {}
