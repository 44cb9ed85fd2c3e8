import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readGlueTsv, readSquadJson } from '../data/files.js';
import type { GlueData, GlueTask } from '../data/glue.js';
import type { SquadData } from '../data/squad.js';
import { taskName, type TaskName } from '../eval/task.js';
import { openCheckpointDirectory } from '../io/node.js';
import { loadTokenizerFromDir } from '../io/tokenizer-files.js';
import type { Tokenizer } from '../io/tokenizer.js';
import { loadModel } from '../models/load.js';
import type { EncoderModel } from '../models/model.js';
import { describeAdapter } from '../runtime/gpu.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The bundled default model and its task's dev set, beside dist/ in the package. */
export const bundledModel = join(packageRoot, 'models', 'sst2-mini');
export const bundledData = join(packageRoot, 'data', 'glue', 'SST-2', 'dev.tsv');
/** 2,048 SST-2 training sentences (data/PROVENANCE.md): the demo's sample set. */
export const bundledSamples = join(packageRoot, 'data', 'glue', 'SST-2', 'train-2048.tsv');

/**
 * Ends a command's runtime: with WGPRUNE_PROFILE=1 (the runtime then times every kernel,
 * src/runtime/profiler.ts), first prints where the device's time went, slowest kernels
 * first, on stderr.
 */
export async function closeRuntime(rt: Runtime): Promise<void> {
  try {
    const kernels = await rt.profile().catch(() => null);
    if (kernels?.length) {
      const total = kernels.reduce((s, k) => s + k.ms, 0);
      console.error(`profile: ${total.toFixed(0)} ms of device time in ${kernels.reduce((s, k) => s + k.launches, 0)} launches (WGPRUNE_PROFILE=1)`);
      for (const k of kernels.slice(0, 15)) {
        console.error(`  ${k.ms.toFixed(1).padStart(9)} ms ${(100 * k.ms / total).toFixed(1).padStart(5)}% ${String(k.launches).padStart(6)} x  ${k.name}`);
      }
    }
  } finally {
    rt.destroy();
  }
}

export interface Loaded {
  rt: Runtime;
  model: EncoderModel;
  tokenizer: Tokenizer;
  /** config.json as read, and the weights' format. */
  configJson: Record<string, unknown>;
  format: string;
}

/** Device, model and tokenizer from a Hugging Face folder; says what it loaded on stderr. */
export async function openModel(dir: string, dawnOptions: string[] = []): Promise<Loaded> {
  const rt = await createRuntime({ dawnOptions });
  try {
    const t0 = performance.now();
    const checkpoint = await openCheckpointDirectory(dir);
    const { model, config } = await loadModel(rt, checkpoint).finally(() => checkpoint.close());
    const tokenizer = await loadTokenizerFromDir(dir, config.modelType);
    console.error(`model:   ${config.architecture}, ${config.layers} layers, hidden ${config.hidden}, ${config.heads} heads (${checkpoint.format}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    console.error(`adapter: ${describeAdapter(rt.adapter)}`);
    return { rt, model, tokenizer, configJson: checkpoint.config, format: checkpoint.format };
  } catch (e) {
    rt.destroy();
    throw e;
  }
}

/** Progress on stderr: a bar redrawn in place on a terminal, a line per quarter otherwise. */
export function progress(what: string): (done: number, total: number) => void {
  const start = performance.now();
  let lastQuarter = -1;
  return (done, total) => {
    const secs = (performance.now() - start) / 1000;
    const rate = `${(done / Math.max(secs, 1e-3)).toFixed(1)} ${what}/s`;
    if (process.stderr.isTTY) {
      const width = 30, filled = Math.round((done / total) * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} ${what}, ${rate}${done === total ? '\n' : ''}`);
    } else {
      const quarter = Math.floor((done / total) * 4);
      if (quarter !== lastQuarter) {
        lastQuarter = quarter;
        process.stderr.write(`${done}/${total} ${what}, ${rate}\n`);
      }
    }
  };
}

/** Writes `text` to a temporary name beside `path`, then renames it: a failed run leaves no half file. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${Date.now()}-${process.pid}.tmp`);
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** A whole number >= 1 in decimal digits, or a UsageError naming the flag (src/cli/checks.ts). */
export function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  return positiveIntOption(value, flag, fallback);
}

/** The options eval and predict share. */
export const taskOptions = {
  model: { type: 'string' }, task: { type: 'string' }, data: { type: 'string' }, 'batch-size': { type: 'string' },
  'max-length': { type: 'string' }, limit: { type: 'string' }, adapter: { type: 'string' }, help: { type: 'boolean' },
} as const;

export interface TaskRun {
  task: TaskName;
  squad: boolean;
  batchSize: number;
  maxLength: number;
  glue?: GlueData;
  squadData?: SquadData;
}

/**
 * The task, its data (read and checked before the model, so that a bad file fails fast)
 * and the batch settings from eval's and predict's shared options.
 */
export async function readTask(values: { task?: string; data?: string; limit?: string; 'batch-size'?: string; 'max-length'?: string }): Promise<TaskRun> {
  const task = taskName(values.task!);
  const squad = task === 'squad' || task === 'squad-v2';
  const limit = values.limit ? positiveInt(values.limit, '--limit', 0) : undefined;
  const batchSize = positiveInt(values['batch-size'], '--batch-size', squad ? 16 : 32);
  const maxLength = positiveInt(values['max-length'], '--max-length', squad ? 384 : 128);
  const glue = squad ? undefined : await readGlueTsv(task as GlueTask, values.data!);
  const squadData = squad ? await readSquadJson(values.data!) : undefined;
  if (limit) {
    glue?.examples.splice(limit);
    squadData?.examples.splice(limit);
  }
  return { task, squad, batchSize, maxLength, ...(glue ? { glue } : {}), ...(squadData ? { squadData } : {}) };
}

// Checks of option values, paths and the model folder before the expensive part (issue 13).
import { positiveIntOption } from './checks.js';
export { checkInputFile, checkModelFolder, checkOutputFile, openTaskModel, taskOption } from './checks.js';
