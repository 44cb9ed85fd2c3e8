// What `wgprune prune` computes after the model is loaded, as one function that the CLI
// (src/cli/prune.ts) and the web app (src/app/) share, so that both write the same
// report.json for the same inputs and seed: the sample set, the whole method (pruneModel),
// the dev scores after search, rearrangement and tuning with their fidelity, and the files
// of the pruned folder. Nothing here touches the file system or the console: paths arrive as
// names, progress and steps as callbacks.
import type { GlueData, GlueTask } from '../data/glue.js';
import type { SquadData } from '../data/squad.js';
import { fidelity } from '../eval/fidelity.js';
import { evaluateGlue, evaluateSquad, type TaskName } from '../eval/task.js';
import type { Folder } from '../io/source.js';
import type { Tokenizer } from '../io/tokenizer.js';
import { maxSequenceLength } from '../models/config.js';
import { EncoderModel } from '../models/model.js';
import { canonicalTensors } from '../models/weights.js';
import { kernelTuningReport, modelWorkload, tuneKernels, type KernelTuning, type TuningCache } from '../ops/autotune.js';
import { WgpruneError } from '../runtime/errors.js';
import { describeAdapter } from '../runtime/gpu.js';
import { checkpointSource, prunedModelFiles } from './export.js';
import type { SampleBatch } from './fisher.js';
import { averageSequenceLength, encoderMacs } from './flops.js';
import { forwardLatency, measureLut, type LatencyLut, type Timing } from './latency.js';
import { pruneModel, type PruneResult } from './pipeline.js';
import { sampleBatches, sampleSquadBatches } from './samples.js';
import type { Masks } from './tune.js';

/** The reference code's task names in averageSequenceLength. */
export const referenceTaskName: Partial<Record<string, string>> = { sst2: 'SST-2', mrpc: 'MRPC', stsb: 'STS-B', qnli: 'QNLI', qqp: 'QQP', mnli: 'MNLI', squad: 'SQuAD', 'squad-v2': 'SQuAD' };

export const countKept = (masks: number[][]): number[] => masks.map((l) => l.filter((v) => v !== 0).length);
export const roundTo = (x: number, digits = 6): number => Number(x.toPrecision(digits));

/** Bytes of a model folder's weight files (safetensors, pytorch_model*.bin), from the sources' sizes. */
export async function folderWeightBytes(folder: Folder): Promise<number> {
  let bytes = 0;
  for (const f of folder.files) {
    if (!/\.safetensors$|^pytorch_model.*\.bin$/.test(f)) continue;
    const s = await folder.open(f);
    bytes += s.size;
    await s.close?.();
  }
  return bytes;
}

/** Progress of one pass over the dev set: what is scored, and examples (features) done of the total. */
export type DevProgress = (what: string, done: number, total: number) => void;

/** Scores of one model (or masks) on the dev set, and how closely it follows the unpruned model. */
export interface DevScorer {
  /** The unpruned model; must run first (the others are compared with it). */
  full(): Promise<Record<string, number>>;
  score(what: string, target: { masks: Masks } | { model: EncoderModel }): Promise<Record<string, unknown>>;
}

export function glueScorer(model: EncoderModel, tokenizer: Tokenizer, dev: GlueData, batchSize: number, maxLength: number, onProgress?: DevProgress): DevScorer {
  let fullLogits: Float32Array | undefined;
  const progress = (what: string) => (onProgress ? { onProgress: (d: number, t: number) => onProgress(what, d, t) } : {});
  return {
    full: async () => {
      const r = await evaluateGlue(model, tokenizer, dev, { batchSize, maxLength, ...progress('unpruned') });
      fullLogits = r.logits;
      return r.metrics;
    },
    score: async (what, target) => {
      const r = 'masks' in target
        ? await evaluateGlue(model, tokenizer, dev, { batchSize, maxLength, masks: target.masks, ...progress(what) })
        : await evaluateGlue(target.model, tokenizer, dev, { batchSize, maxLength, ...progress(what) });
      if (!fullLogits) throw new WgpruneError('glueScorer: score the unpruned model (full) first');
      const f = fidelity(fullLogits, r.logits, model.config.numLabels);
      return { metrics: r.metrics, ...Object.fromEntries(Object.entries(f).map(([k, v]) => [k, roundTo(v)])) };
    },
  };
}

export function squadScorer(model: EncoderModel, tokenizer: Tokenizer, dev: SquadData, v2: boolean, batchSize: number, maxLength: number, docStride: number, onProgress?: DevProgress): DevScorer {
  let fullAnswers: Map<string, { text: string }> | undefined;
  const opts = (what: string) => ({ batchSize, maxLength, docStride, ...(onProgress ? { onProgress: (d: number, t: number) => onProgress(what, d, t) } : {}) });
  return {
    full: async () => {
      const r = await evaluateSquad(model, tokenizer, dev, v2, opts('unpruned'));
      fullAnswers = r.predictions;
      return r.metrics;
    },
    score: async (what, target) => {
      const r = 'masks' in target
        ? await evaluateSquad(model, tokenizer, dev, v2, { ...opts(what), masks: target.masks })
        : await evaluateSquad(target.model, tokenizer, dev, v2, opts(what));
      if (!fullAnswers) throw new WgpruneError('squadScorer: score the unpruned model (full) first');
      let same = 0;
      for (const [id, p] of r.predictions) if (fullAnswers.get(id)?.text === p.text) same++;
      // For spans, agreement is the share of questions answered with the same text.
      return { metrics: r.metrics, agreement: roundTo(same / Math.max(1, r.predictions.size)) };
    },
  };
}

export interface PruneJobOptions {
  task: TaskName;
  /** Fraction of the encoder's MACs to keep, in (0, 1). */
  constraint: number;
  sampleCount?: number;
  seed?: number;
  /** Cost model's sequence length (default: the reference code's average for the task, else the samples' mean). */
  seqLen?: number;
  perBatch?: boolean;
  tune?: boolean;
  damping?: number;
  teacher?: 'full' | 'sqrt';
  tuneFirstAttention?: boolean;
  /**
   * flops (default): the constraint is a fraction of the MACs. latency: of the latency, priced
   * by `lut` (checked against this adapter and model by the caller: lutMismatch), or by a
   * table measured here first (batch 1, 128 tokens) when none is given.
   */
  metric?: 'flops' | 'latency';
  lut?: LatencyLut;
  /** The file `lut` came from, for report.json (absent: it was measured). */
  lutFile?: string;
  batchSize?: number;
  maxLength?: number;
  docStride?: number;
  /**
   * Time the kernel variants for the model's shapes on this adapter before the Fisher pass
   * (src/ops/autotune.ts; default on, unless the environment has WGPRUNE_TUNE=off).
   */
  kernelTuning?: boolean;
}

export interface PruneJobInput {
  model: EncoderModel;
  tokenizer: Tokenizer;
  configJson: Record<string, unknown>;
  /** How the weights were stored (OpenedModel.format). */
  format: string;
  /** The model folder: its weight files' sizes, and the tokenizer files the pruned folder copies. */
  folder: Folder;
  /** What report.json calls the model (the CLI: its path) and the sample file. */
  modelName: string;
  samplesName: string;
  samples: GlueData | SquadData;
  /** The dev set, already cut to its limit: scores after each step. */
  dev?: GlueData | SquadData;
  /** performance.now() when the job began (before the model loaded): report.json's seconds.total. */
  started?: number;
  /** Where kernel tuning keeps its choices (the CLI: a file; default: memory). */
  tuningCache?: TuningCache;
}

/** The steps a job goes through, for progress displays. */
export type PruneJobStep = 'samples' | 'kernels' | 'lut' | 'fisher' | 'search' | 'tune' | 'export' | 'dev' | 'latency' | 'files';

export interface PruneJobHooks {
  /** A step begins (`info` says what it will do). */
  onStep?: (step: PruneJobStep, info: string) => void;
  /** Units done of the total in a long step: latency table sizes, Fisher batches, tuning's sub-layers, dev examples. */
  onProgress?: (what: string, done: number, total: number) => void;
  /** The sample set is drawn. */
  onSamples?: (s: { batches: SampleBatch[]; examples: number; drawnFrom: number; seqLen: number; meanTokens: number }) => void;
  /** Kernel tuning is done (or off, or from the cache): `k.line` says which in one line. */
  onKernels?: (k: KernelTuning) => void;
  /** Steps 1-5 are done (before the dev set is scored). */
  onPruned?: (result: PruneResult) => void;
}

export interface PruneJob {
  result: PruneResult;
  /** What report.json holds. */
  report: Record<string, unknown>;
  /** The pruned folder's files (model.safetensors, config.json, tokenizer files, masks.json, report.json), with `files: true`. */
  files?: Map<string, Uint8Array[]>;
  /** The dev set's scorer, its unpruned model scored (with a dev set): score more masks with it. */
  scorer?: DevScorer;
  /** The pruned model loaded from the checkpoint. The caller disposes it. */
  pruned: EncoderModel;
  /** The cost model's sequence length used. */
  seqLen: number;
  /** The latency table the search used (metric latency), given or measured. */
  lut?: LatencyLut;
  /** The measured forward latency of the unpruned and the pruned model. */
  latency: { batch: number; seq: number; unpruned: Timing; pruned: Timing };
  batches: SampleBatch[];
}

/**
 * Everything `wgprune prune` does once the model is loaded: checks that the model suits the
 * task and is unpruned, draws the sample set, runs pruneModel, scores the dev set (if any)
 * unpruned, after the search, after the rearrangement and as the pruned (tuned, folded)
 * model, and assembles report.json and, with `files`, the pruned folder's files.
 */
export async function pruneJob(input: PruneJobInput, options: PruneJobOptions, hooks: PruneJobHooks = {}, { files: withFiles = false } = {}): Promise<PruneJob> {
  const started = input.started ?? performance.now();
  const { model, tokenizer, task } = { ...input, task: options.task };
  const squad = task === 'squad' || task === 'squad-v2';
  const c = model.config, L = c.layers, rt = model.rt;
  const batchSize = options.batchSize ?? (squad ? 12 : 32);
  const maxLength = options.maxLength ?? (squad ? 384 : 128);
  const docStride = options.docStride ?? 128;
  const sampleCount = options.sampleCount ?? 2048, seed = options.seed ?? 0;
  const tune = options.tune ?? true, damping = options.damping ?? 1, teacher = options.teacher ?? 'full';
  const constraint = options.constraint, metric = options.metric ?? 'flops';
  if (metric !== 'flops' && metric !== 'latency') throw new WgpruneError(`the metric is flops or latency, got "${String(metric)}"`);
  if (options.lut && metric !== 'latency') throw new WgpruneError('a latency table is for the latency metric');
  if (!(constraint > 0 && constraint < 1)) throw new WgpruneError(`the constraint is the fraction of the MACs to keep, in (0, 1); got ${constraint}`);
  const isSquadData = (d: GlueData | SquadData): d is SquadData => !('task' in d);
  if (isSquadData(input.samples) !== squad || (input.dev && isSquadData(input.dev) !== squad)) {
    throw new WgpruneError(`${task}: the data files must be ${squad ? 'SQuAD JSON' : `the GLUE ${task} TSV`}`);
  }
  if (!squad && ((input.samples as GlueData).task !== task || (input.dev && (input.dev as GlueData).task !== task))) {
    throw new WgpruneError(`the data files were read as ${(input.samples as GlueData).task}, the task is ${task}`);
  }
  if (squad !== (c.head === 'question-answering')) {
    throw new WgpruneError(`${task} needs a ${squad ? 'question-answering' : 'sequence-classification'} model, but ${input.modelName} is ${c.architecture}`);
  }
  if (model.layerSizes.some((l) => l.heads !== c.heads || l.neurons !== c.intermediate)) {
    throw new WgpruneError(`${input.modelName} is already physically pruned; prune the unpruned model`);
  }

  hooks.onStep?.('samples', `drawing ${sampleCount} examples (seed ${seed})`);
  const { batches, meanTokens } = squad
    ? sampleSquadBatches(c, tokenizer, input.samples as SquadData, { count: sampleCount, batchSize, maxSeqLength: maxLength, docStride, seed })
    : sampleBatches(c, tokenizer, input.samples as GlueData, { count: sampleCount, batchSize, maxLength, seed });
  const seqLen = options.seqLen ?? (referenceTaskName[task] ? averageSequenceLength[referenceTaskName[task]!]! : meanTokens);
  const examples = batches.reduce((s, b) => s + b.tokens.batch, 0);
  const drawnFrom = input.samples.examples.length;
  hooks.onSamples?.({ batches, examples, drawnFrom, seqLen, meanTokens });

  // Kernel tuning for the model's shapes at the sample batches' typical size, before any
  // timed or long step (the latency table, the Fisher pass) runs.
  const typical = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 1;
  const workShape = { batch: typical(batches.map((b) => b.tokens.batch)), seq: typical(batches.map((b) => b.tokens.seq)) };
  hooks.onStep?.('kernels', `kernel variants for this adapter at ${workShape.batch} x ${workShape.seq} tokens`);
  const kernels = await tuneKernels(rt, modelWorkload(c, workShape), {
    ...(options.kernelTuning !== undefined ? { tune: options.kernelTuning } : {}), ...(input.tuningCache ? { cache: input.tuningCache } : {}),
  });
  hooks.onKernels?.(kernels);

  // The latency shape: the table's, else one sequence of 128 tokens (fewer if the model's positions end sooner).
  const defaultSeq = Math.min(128, maxSequenceLength(c));
  let lut = options.lut;
  if (metric === 'latency' && !lut) {
    hooks.onStep?.('lut', 'measuring a latency table on this adapter (batch 1, 128 tokens)');
    lut = await measureLut(rt, { hidden: c.hidden, heads: c.heads, intermediate: c.intermediate, batch: 1, seq: defaultSeq },
      { onProgress: (d, t) => hooks.onProgress?.('block sizes (latency table)', d, t) });
  }

  hooks.onStep?.('fisher', `Fisher information over ${batches.length} batches`);
  // The search and the rearrangement take well under a second between the Fisher pass and
  // tuning: they are announced when the Fisher pass ends, and tuning right after them.
  let searchAnnounced = false;
  const announceSearch = () => {
    if (searchAnnounced) return;
    searchAnnounced = true;
    hooks.onStep?.('search', 'search and rearrangement');
    if (tune) hooks.onStep?.('tune', `tuning ${2 * L} sub-layers`);
  };
  const result = await pruneModel(model, batches, input.configJson, {
    ...(lut ? { lut } : {}),
    constraint, seqLen, perBatch: options.perBatch ?? false, tune, damping, teacher, tuneFirstAttention: options.tuneFirstAttention ?? false,
    onProgress: (step, done, total) => {
      if (step === 'tune') announceSearch();
      hooks.onProgress?.(step === 'fisher' ? 'batches (Fisher)' : 'sub-layers (tuning)', done, total);
      if (step === 'fisher' && done >= total) announceSearch();
    },
  });
  announceSearch();
  hooks.onStep?.('export', 'the pruned checkpoint');
  hooks.onPruned?.(result);
  const { found, timings } = result, search = found.search;
  const heads = countKept(result.masks.head), neurons = countKept(result.masks.neuron);

  let paramsBefore = 0, paramsAfter = 0;
  const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  for (const shape of canonicalTensors(c).values()) paramsBefore += sizeOf(shape);
  for (const t of result.checkpoint.tensors.values()) paramsAfter += t.data.length;

  let dev: Record<string, unknown> | undefined, scorer: DevScorer | undefined, pruned: EncoderModel | undefined;
  try {
    if (input.dev) {
      hooks.onStep?.('dev', `scoring ${input.dev.examples.length} dev examples`);
      const onDev: DevProgress = (what, d, t) => hooks.onProgress?.(`dev examples (${what})`, d, t);
      scorer = squad
        ? squadScorer(model, tokenizer, input.dev as SquadData, task === 'squad-v2', batchSize, maxLength, docStride, onDev)
        : glueScorer(model, tokenizer, input.dev as GlueData, batchSize, maxLength, onDev);
      const full = await scorer.full();
      const afterSearch = await scorer.score('after search', { masks: result.searched });
      const afterRearrangement = await scorer.score('after rearrangement', { masks: result.rearranged });
      const source = checkpointSource(input.modelName, result.checkpoint);
      pruned = await EncoderModel.load(rt, source.config, source.source);
      const prunedScores = await scorer.score(tune ? 'pruned model, tuned' : 'pruned model', { model: pruned });
      dev = { examples: input.dev.examples.length, full, afterSearch, afterRearrangement, [tune ? 'afterTuning' : 'prunedModel']: prunedScores };
    }

    // The unpruned and the pruned model's measured latency, at the table's shape (batch 1, 128 tokens without one).
    const latencyShape = lut ? { batch: lut.shape.batch, seq: lut.shape.seq } : { batch: 1, seq: defaultSeq };
    hooks.onStep?.('latency', `forward latency of the unpruned and the pruned model, ${latencyShape.batch} x ${latencyShape.seq} tokens`);
    if (!pruned) {
      const source = checkpointSource(input.modelName, result.checkpoint);
      pruned = await EncoderModel.load(rt, source.config, source.source);
    }
    const latency = { unpruned: await forwardLatency(model, latencyShape), pruned: await forwardLatency(pruned, latencyShape) };
    const searchedLatency = (search as { latency?: { ms: number; fullMs: number; fraction: number } }).latency;

    hooks.onStep?.('files', 'report and files');
    const files = withFiles ? await prunedModelFiles(result.checkpoint, input.folder) : undefined;
    const safetensorsBytes = files ? files.get('model.safetensors')!.reduce((s, b) => s + b.length, 0) : undefined;
    const bytesBefore = await folderWeightBytes(input.folder);
    const shape = { layers: L, heads: c.heads, hidden: c.hidden, intermediate: c.intermediate, seqLen };
    const report = {
      adapter: describeAdapter(rt.adapter),
      model: { path: input.modelName, architecture: c.architecture, layers: L, hidden: c.hidden, heads: c.heads, intermediate: c.intermediate, format: input.format },
      task, constraint,
      samples: { file: input.samplesName, drawnFrom, examples, batches: batches.length, seed, batchSize, maxLength, ...(squad ? { docStride } : {}) },
      fisher: found.fisher.perBatch ? 'per batch' : 'per example',
      kernels: { ...workShape, ...kernelTuningReport(kernels) },
      metric,
      costModel: { seqLen, macsFull: encoderMacs(shape), macsKept: search.macs, fraction: roundTo(search.fraction) },
      ...(lut ? { latencyTable: { adapter: lut.adapter, shape: lut.shape, fit: lut.fit, ...(options.lutFile ? { file: options.lutFile } : { measured: true }), predicted: searchedLatency } } : {}),
      latency: {
        ...latencyShape, unprunedMs: roundTo(latency.unpruned.medianMs, 4), prunedMs: roundTo(latency.pruned.medianMs, 4),
        ratio: roundTo(latency.pruned.medianMs / latency.unpruned.medianMs, 4), unpruned: latency.unpruned, pruned: latency.pruned,
      },
      kept: { heads: search.heads, neurons: search.neurons, headsPerLayer: heads, neuronsPerLayer: neurons },
      seconds: Object.fromEntries(Object.entries({ ...timings, total: performance.now() - started }).map(([k, v]) => [k, roundTo(v / 1000, 4)])),
      size: { parametersBefore: paramsBefore, parametersAfter: paramsAfter, weightBytesBefore: bytesBefore, ...(safetensorsBytes !== undefined ? { weightBytesAfter: safetensorsBytes } : {}) },
      tuning: result.tuned
        ? { teacher, damping, firstAttention: options.tuneFirstAttention ?? false, log: result.tuned.log.map((e) => ({ ...e, ms: Math.round(e.ms) })), ...(result.tuned.stopped ? { stopped: result.tuned.stopped } : {}) }
        : 'off',
      ...(dev ? { dev } : {}),
    };
    if (files) {
      const enc = new TextEncoder();
      files.set('masks.json', [enc.encode(JSON.stringify({ constraint, head: result.masks.head, neuron: result.masks.neuron }) + '\n')]);
      files.set('report.json', [enc.encode(JSON.stringify(report, null, 2) + '\n')]);
    }
    return { result, report, ...(files ? { files } : {}), ...(scorer ? { scorer } : {}), pruned, seqLen, batches, ...(lut ? { lut } : {}), latency: { ...latencyShape, ...latency } };
  } catch (e) {
    pruned?.dispose();
    throw e;
  }
}

/** GlueTask narrowing for callers that hold a TaskName. */
export const isGlueTask = (task: TaskName): task is GlueTask => task !== 'squad' && task !== 'squad-v2';
