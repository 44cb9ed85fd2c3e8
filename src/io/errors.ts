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

/**
 * A tensor holding NaN or infinite values: the file is damaged, or the model diverged in
 * training. Results computed from it would be nonsense, so loading stops unless asked not to.
 */
export class NonFiniteWeightsError extends CheckpointError {
  constructor(readonly file: string, readonly tensor: string, readonly count: number, readonly total: number, readonly firstIndex: number, readonly firstValue: number) {
    super(`${file}: tensor "${tensor}" holds ${count} non-finite value${count === 1 ? '' : 's'} (of ${total}; the first, ${firstValue}, at index ${firstIndex}): ` +
      'the file is damaged or the model diverged; results from it would be meaningless (--allow-nonfinite loads it anyway)');
  }
}
