import type { Checkpoint } from '../io/checkpoint.js';
import type { Runtime } from '../runtime/runtime.js';
import { parseConfig, type ModelConfig } from './config.js';
import { EncoderModel } from './model.js';
import type { WeightSource } from './weights.js';

/** The checkpoint's tensors as the model's weight source. */
export function weightSource(checkpoint: Checkpoint): WeightSource {
  return {
    name: checkpoint.name,
    shapes: new Map([...checkpoint.tensors].map(([name, info]) => [name, info.shape])),
    read: (name) => checkpoint.readFloat32(name),
  };
}

/**
 * A model from an opened Hugging Face folder: config.json parsed and checked, every weight
 * checked against it, then uploaded one tensor at a time.
 */
export async function loadModel(rt: Runtime, checkpoint: Checkpoint): Promise<{ model: EncoderModel; config: ModelConfig }> {
  const config = parseConfig(checkpoint.config, `${checkpoint.name}/config.json`);
  const model = await EncoderModel.load(rt, config, weightSource(checkpoint));
  return { model, config };
}
