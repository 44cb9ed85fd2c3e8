// The public API both entries share (src/index.ts for Node, src/browser.ts for bundlers):
// what runs the same on Dawn and on navigator.gpu. Anything not named here is internal.
/// <reference types="@webgpu/types" preserve="true" />

// Runtime: the WebGPU device.
export { createRuntime, type Runtime, type RuntimeOptions } from './runtime/runtime.js';
export { describeAdapter, type AdapterReport, type DeviceFeatures, type DeviceLimits } from './runtime/gpu.js';
export type { Tensor } from './runtime/tensor.js';
// Kernel tuning per adapter (src/ops/autotune.ts); the Node entry adds the cache file.
export {
  tuneKernels, modelWorkload, memoryTuningCache, type TuneKernelsOptions, type KernelTuning, type Workload,
  type WorkloadMatmul, type WorkloadRows, type TuningCache, type CachedChoice, type Timer, type Trial,
} from './ops/autotune.js';
export type { MatmulKernel } from './ops/matmul.js';

// Models and tokenizers.
export { openModelFiles, filesToBlobs, type ModelFiles, type OpenedModel, type OpenModelOptions } from './open.js';
export type { ModelConfig, ModelType } from './models/config.js';
export type { EncoderModel, ModelMasks, ModelOutput, TokenBatch } from './models/model.js';
export type { Encoding, EncodeOptions, LoadTokenizerOptions, Tokenizer } from './io/tokenizer.js';
export type { ByteSource, Folder } from './io/source.js';

// Task data: parsers of the files' text or bytes (fetched, or read by the Node entry's readers).
export { GLUE_TASKS, parseGlueTsv, type GlueData, type GlueExample, type GlueTask } from './data/glue.js';
export { parseSquadJson, type SquadData, type SquadExample } from './data/squad.js';

// Evaluation.
export { evaluateGlue, evaluateSquad, type GlueResult, type SquadResult, type TaskName } from './eval/task.js';
export { fidelity } from './eval/fidelity.js';
export type { PredictOptions } from './eval/predict.js';

// Pruning (docs/method.md): the whole pipeline, and its steps for those who want them apart.
export { pruneModel, type PruneOptions, type PruneResult } from './prune/pipeline.js';
export { sampleBatches, sampleSquadBatches, type SampleOptions, type SquadSampleOptions } from './prune/samples.js';
export type { SampleBatch } from './prune/fisher.js';
export { averageSequenceLength } from './prune/flops.js';
export { findMasks, type FoundMasks, type MaskOptions } from './prune/masks.js';
export type { SearchResult } from './prune/search.js';
export { tuneMasks, type Masks, type TunedMasks, type TuneOptions } from './prune/tune.js';
export { prunedCheckpoint, prunedModelFiles, type PrunedCheckpoint } from './prune/export.js';

// Errors: every error meant for the user is a WgpruneError.
export { WgpruneError, NoAdapterError, DeviceLostError, ModelError, ShapeError } from './runtime/errors.js';
export { CheckpointError, UnsupportedCheckpointError, WeightsNotFoundError } from './io/errors.js';
export { TokenizerError } from './io/tokenizer.js';
export { DataError } from './data/text.js';
