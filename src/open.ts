// Opening a Hugging Face model folder for the library entries (src/index.ts, src/browser.ts):
// weights, config and tokenizer from one Folder, whether it is a Node directory or files
// the user picked in a browser, so that both take the same path.
import { openCheckpoint } from './io/checkpoint.js';
import { CheckpointError } from './io/errors.js';
import { blobSource, mapFolder, readText, type ByteSource, type Folder } from './io/source.js';
import { TOKENIZER_FILE_NAMES, loadTokenizer, type LoadTokenizerOptions, type Tokenizer, type TokenizerFiles } from './io/tokenizer.js';
import type { ModelConfig } from './models/config.js';
import { loadModel } from './models/load.js';
import type { EncoderModel } from './models/model.js';
import type { Runtime } from './runtime/runtime.js';

export interface OpenedModel {
  model: EncoderModel;
  config: ModelConfig;
  /** config.json as read: what `pruneModel` extends for the pruned model. */
  configJson: Record<string, unknown>;
  tokenizer: Tokenizer;
  /** The folder it came from: `prunedModelFiles` copies its tokenizer files. */
  folder: Folder;
  /** How the weights were stored: 'safetensors', 'safetensors-sharded', 'pytorch-zip', 'pytorch-legacy'. */
  format: string;
}

export interface OpenModelOptions {
  tokenizer?: LoadTokenizerOptions;
}

/** Model and tokenizer from a folder; the weights' files are closed once uploaded. */
export async function openModelFromFolder(rt: Runtime, folder: Folder, options: OpenModelOptions = {}): Promise<OpenedModel> {
  const checkpoint = await openCheckpoint(folder, folder.name);
  const { model, config } = await loadModel(rt, checkpoint).finally(() => checkpoint.close());
  try {
    const files: Record<string, string> = {};
    for (const name of TOKENIZER_FILE_NAMES) {
      if (!folder.files.includes(name)) continue;
      const source = await folder.open(name);
      try {
        files[name] = await readText(source);
      } finally {
        await source.close?.();
      }
    }
    const tokenizer = loadTokenizer(files as TokenizerFiles, config.modelType, options.tokenizer);
    return { model, config, configJson: checkpoint.config, tokenizer, folder, format: checkpoint.format };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Files picked in a browser (`<input type="file" multiple>`, drag and drop), or blobs by file name. */
export type ModelFiles = FileList | Iterable<File> | ReadonlyMap<string, Blob> | Readonly<Record<string, Blob>>;

function isFileList(files: ModelFiles): files is FileList {
  return typeof FileList !== 'undefined' && files instanceof FileList;
}

/** The files as a folder of name → Blob sources; a File keeps its own name (not its webkitRelativePath). */
export function filesFolder(files: ModelFiles, name = 'model files'): Folder {
  const sources = new Map<string, ByteSource>();
  const add = (file: string, blob: Blob) => {
    if (sources.has(file)) throw new CheckpointError(`${name}: two files are named "${file}"; give the files of one model folder`);
    sources.set(file, blobSource(blob, file));
  };
  if (files instanceof Map) for (const [file, blob] of files as ReadonlyMap<string, Blob>) add(file, blob);
  else if (isFileList(files)) for (let i = 0; i < files.length; i++) add(files[i]!.name, files[i]!);
  else if (Symbol.iterator in files) for (const f of files as Iterable<File>) add(f.name, f);
  else for (const [file, blob] of Object.entries(files)) add(file, blob);
  return mapFolder(name, sources);
}

/**
 * Model and tokenizer from a model folder's files in memory or picked by the user:
 * config.json, the weights (safetensors, sharded or not, or pytorch_model.bin) and the
 * tokenizer files. Tensors are read one at a time with Blob.slice, never the whole file.
 */
export async function openModelFiles(rt: Runtime, files: ModelFiles, options: OpenModelOptions = {}): Promise<OpenedModel> {
  return openModelFromFolder(rt, filesFolder(files), options);
}

/**
 * A model folder's files (name → byte chunks, as `prunedModelFiles` makes them) as Blobs:
 * for a download link (`URL.createObjectURL`), IndexedDB, or `openModelFiles` again.
 */
export function filesToBlobs(files: ReadonlyMap<string, readonly Uint8Array[]>, type = 'application/octet-stream'): Map<string, Blob> {
  // Blob takes ArrayBuffer-backed views; the chunks may view a SharedArrayBuffer in principle.
  return new Map([...files].map(([name, chunks]) => [name, new Blob(chunks as Uint8Array<ArrayBuffer>[], { type: name.endsWith('.json') ? 'application/json' : type })]));
}
