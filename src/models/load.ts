import { countNonFinite, type Checkpoint } from '../io/checkpoint.js';
import type { Runtime } from '../runtime/runtime.js';
import { parseConfig, type ModelConfig } from './config.js';
import { EncoderModel } from './model.js';
import type { WeightSource } from './weights.js';

export interface LoadOptions {
  /**
   * Load tensors that hold NaN or ±Inf (refused by default, with a NonFiniteWeightsError
   * naming the tensor); each such tensor is listed in `nonFinite`.
   */
  allowNonFinite?: boolean;
}

/** A tensor loaded despite non-finite values (LoadOptions.allowNonFinite). */
export interface NonFiniteTensor {
  name: string;
  count: number;
  total: number;
}

/** The checkpoint's tensors as the model's weight source; `nonFinite` collects what allowNonFinite let through. */
export function weightSource(checkpoint: Checkpoint, options: LoadOptions = {}, nonFinite: NonFiniteTensor[] = []): WeightSource {
  return {
    name: checkpoint.name,
    shapes: new Map([...checkpoint.tensors].map(([name, info]) => [name, info.shape])),
    read: async (name) => {
      const values = await checkpoint.readFloat32(name, options);
      if (options.allowNonFinite) {
        const { count } = countNonFinite(values);
        if (count) nonFinite.push({ name, count, total: values.length });
      }
      return values;
    },
  };
}

/**
 * A model from an opened Hugging Face folder: config.json parsed and checked, every weight
 * checked against it, then uploaded one tensor at a time (each scanned for NaN and ±Inf).
 */
export async function loadModel(rt: Runtime, checkpoint: Checkpoint, options: LoadOptions = {}): Promise<{ model: EncoderModel; config: ModelConfig; nonFinite: NonFiniteTensor[] }> {
  const config = parseConfig(checkpoint.config, `${checkpoint.name}/config.json`);
  const nonFinite: NonFiniteTensor[] = [];
  const model = await EncoderModel.load(rt, config, weightSource(checkpoint, options, nonFinite));
  return { model, config, nonFinite };
}
