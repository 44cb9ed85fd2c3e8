// What the commands check before the expensive part (loading a model, a pass over data):
// option values, the files they read, the file they write, and the model folder. A bad
// value is a UsageError (exit status 2); a file that is missing, unreadable or of the wrong
// kind is a WgpruneError (status 1). See the README, "What is checked, and what cannot be".
import { constants } from 'node:fs';
import { access, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { taskName, type TaskName } from '../eval/task.js';
import { openCheckpointDirectory } from '../io/node.js';
import { loadTokenizerFromDir } from '../io/tokenizer-files.js';
import type { Tokenizer } from '../io/tokenizer.js';
import { parseConfig, type ModelConfig } from '../models/config.js';
import { loadModel, type NonFiniteTensor } from '../models/load.js';
import type { EncoderModel } from '../models/model.js';
import { ModelError, UsageError, WgpruneError } from '../runtime/errors.js';
import { describeAdapter } from '../runtime/gpu.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';

/**
 * A whole number >= 1 written in decimal digits (no sign, exponent, hex or fraction: "1e3"
 * and "0x10" are more likely slips than intent); `fallback` when the option is absent.
 */
export function positiveIntOption(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^[0-9]+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive whole number, got "${value}"`);
  return n;
}

/** The --task value, or a UsageError listing the tasks. */
export function taskOption(value: string): TaskName {
  try {
    return taskName(value);
  } catch (e) {
    if (e instanceof WgpruneError) throw new UsageError(`--task "${value}" is not a task; use one of cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, squad, squad-v2`);
    throw e;
  }
}

const nodeError = (e: unknown) => (e as NodeJS.ErrnoException).code;

/** A file the command reads: it exists, is a file (not a folder), and can be read. */
export async function checkInputFile(path: string, flag: string): Promise<void> {
  const st = await stat(path).catch((e: unknown) => {
    throw new WgpruneError(`${flag} ${path}: ${nodeError(e) === 'ENOENT' ? 'no such file' : `cannot be read (${(e as Error).message})`}`);
  });
  if (st.isDirectory()) throw new WgpruneError(`${flag} ${path}: is a folder; give a file`);
  await access(path, constants.R_OK).catch(() => { throw new WgpruneError(`${flag} ${path}: cannot be read (permission denied)`); });
}

/** A model folder: it exists, is a folder, and holds config.json. */
export async function checkModelFolder(dir: string, flag = '--model'): Promise<void> {
  const st = await stat(dir).catch(() => null);
  if (!st) throw new WgpruneError(`${flag} ${dir}: no such folder`);
  if (!st.isDirectory()) throw new WgpruneError(`${flag} ${dir}: is a file; give the Hugging Face model folder (config.json and the weights)`);
  const files = await readdir(dir).catch((e: unknown) => { throw new WgpruneError(`${flag} ${dir}: cannot be listed (${(e as Error).message})`); });
  if (!files.includes('config.json')) throw new WgpruneError(`${flag} ${dir}: no config.json; a Hugging Face model folder holds config.json and the weights`);
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest. */
async function realPathOf(p: string): Promise<string> {
  const abs = resolve(p);
  try {
    return await realpath(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : resolve(await realPathOf(parent), basename(abs));
  }
}

/**
 * A file the command writes (renamed into place once complete), checked before any work:
 * its folder exists and can be written, it is not a folder, and it is none of `inputs`
 * (files, or folders whose files it must not replace), compared by real path and, when it
 * exists, by identity (a hard link to the dev set is the dev set). Whether the output is an
 * input is a UsageError; the rest are failures.
 */
export async function checkOutputFile(path: string, flag: string, inputs: { path: string; flag: string }[]): Promise<void> {
  const out = await realPathOf(path);
  const outStat = await stat(out).catch(() => null);
  for (const input of inputs) {
    const real = await realPathOf(input.path);
    const inStat = await stat(real).catch(() => null);
    if (inStat?.isDirectory()) {
      // A model folder: refuse replacing any of its files (config.json, the weights).
      if (dirname(out) === real) {
        const files = await readdir(real).catch(() => [] as string[]);
        if (files.includes(basename(out))) throw new UsageError(`${flag} ${path} would replace ${basename(out)} of the ${input.flag} folder ${input.path}`);
      }
      continue;
    }
    const same = out === real || (outStat && inStat && outStat.dev === inStat.dev && outStat.ino === inStat.ino);
    if (same) throw new UsageError(`${flag} ${path} is the ${input.flag} file ${input.path}: choose another name, the input is never written to`);
  }
  if (outStat?.isDirectory()) throw new WgpruneError(`${flag} ${path}: is a folder; give a file name`);
  const folder = dirname(out);
  const folderStat = await stat(folder).catch(() => null);
  if (!folderStat?.isDirectory()) throw new WgpruneError(`${flag} ${path}: the folder ${dirname(resolve(path))} does not exist`);
  await access(folder, constants.W_OK).catch(() => { throw new WgpruneError(`${flag} ${path}: the folder ${dirname(resolve(path))} cannot be written to`); });
}

export interface TaskModel {
  rt: Runtime;
  model: EncoderModel;
  tokenizer: Tokenizer;
  config: ModelConfig;
  /** Tensors loaded despite NaN or ±Inf values (only with allowNonFinite). */
  nonFinite: NonFiniteTensor[];
}

/**
 * openModel (./common.ts) with the checks in the order of their cost: config.json and the
 * tokenizer (and their agreement) before the device and the weights; weights with NaN or
 * ±Inf refused unless `allowNonFinite`, then listed on stderr.
 */
export async function openTaskModel(dir: string, { dawnOptions = [] as string[], allowNonFinite = false } = {}): Promise<TaskModel> {
  await checkModelFolder(dir);
  const t0 = performance.now();
  const checkpoint = await openCheckpointDirectory(dir);
  let rt: Runtime | undefined;
  try {
    const config = parseConfig(checkpoint.config, `${checkpoint.name}/config.json`);
    const tokenizer = await loadTokenizerFromDir(dir, config.modelType);
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new ModelError(`${dir}: the tokenizer has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${config.vocabSize}: the tokenizer is not this model's`);
    }
    rt = await createRuntime({ dawnOptions });
    const { model, nonFinite } = await loadModel(rt, checkpoint, { allowNonFinite });
    console.error(`model:   ${config.architecture}, ${config.layers} layers, hidden ${config.hidden}, ${config.heads} heads (${checkpoint.format}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    console.error(`adapter: ${describeAdapter(rt.adapter)}`);
    for (const t of nonFinite) console.error(`warning: tensor "${t.name}" holds ${t.count} non-finite value${t.count === 1 ? '' : 's'} of ${t.total} (loaded: --allow-nonfinite)`);
    return { rt, model, tokenizer, config, nonFinite };
  } catch (e) {
    rt?.destroy();
    throw e;
  } finally {
    await checkpoint.close();
  }
}
