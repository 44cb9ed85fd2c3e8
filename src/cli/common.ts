import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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

export interface Loaded {
  rt: Runtime;
  model: EncoderModel;
  tokenizer: Tokenizer;
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
    return { rt, model, tokenizer };
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

export function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got "${value}"`);
  return n;
}
