// A Hugging Face model folder: config.json and the weights, found the way
// transformers looks for them: model.safetensors, else model.safetensors.index.json and
// its shards, else pytorch_model.bin. Names and shapes against the architecture are
// checked by the model code, not here.
import { crc32 } from './crc32.js';
import { toFloat32 } from './dtype.js';
import { CheckpointError, NonFiniteWeightsError, WeightsNotFoundError } from './errors.js';
import { readPytorch } from './pytorch.js';
import { readSafetensors } from './safetensors.js';
import { mapFolder, readJsonObject, type ByteSource, type Folder } from './source.js';
import type { TensorInfo, TensorLocation, WeightsFile } from './tensor-info.js';

export type { TensorInfo } from './tensor-info.js';

export interface Checkpoint {
  /** The folder, for messages. */
  name: string;
  config: Record<string, unknown>;
  format: 'safetensors' | 'safetensors-sharded' | 'pytorch-zip' | 'pytorch-legacy';
  tensors: Map<string, TensorInfo>;
  /**
   * One tensor as float32 (F16 and BF16 widened exactly); reads only its bytes (a zip
   * entry's, whole, the first time, to check its CRC-32). A tensor holding NaN or ±Inf is
   * refused with a NonFiniteWeightsError unless `allowNonFinite`.
   */
  readFloat32(name: string, options?: { allowNonFinite?: boolean }): Promise<Float32Array>;
  /** Closes the files opened (Node); the checkpoint cannot be read after. */
  close(): Promise<void>;
}

const CONFIG = 'config.json', SAFETENSORS = 'model.safetensors';
const INDEX = 'model.safetensors.index.json', PYTORCH = 'pytorch_model.bin';

/**
 * Opens a model folder: a Folder (Node: `directoryFolder(path)` from ./node.ts, or
 * `openCheckpointDirectory(path)` there) or, in a browser, a map of file names to sources
 * (`blobSource(file)` for picked files). Everything is validated; no tensor is read.
 */
export async function openCheckpoint(folder: Folder | Map<string, ByteSource>, name = 'model folder'): Promise<Checkpoint> {
  const dir = folder instanceof Map ? mapFolder(name, folder) : folder;
  const opened: ByteSource[] = [];
  const open = async (file: string) => {
    const s = await dir.open(file);
    opened.push(s);
    return s;
  };
  const closeAll = () => Promise.all(opened.map((s) => s.close?.())).then(() => undefined);
  try {
    const has = (f: string) => dir.files.includes(f);
    if (!has(CONFIG)) throw new WeightsNotFoundError(`${dir.name}: no ${CONFIG}; a Hugging Face model folder holds config.json and the weights`);
    const config = await readJsonObject(await open(CONFIG));
    let format: Checkpoint['format'];
    let files: WeightsFile[];
    if (has(SAFETENSORS)) {
      files = [await readSafetensors(await open(SAFETENSORS))];
      format = 'safetensors';
    } else if (has(INDEX)) {
      files = [await readShardIndex(dir, await open(INDEX), open)];
      format = 'safetensors-sharded';
    } else if (has(PYTORCH)) {
      const weights = await readPytorch(await open(PYTORCH));
      files = [weights];
      format = weights.format as 'pytorch-zip' | 'pytorch-legacy';
    } else {
      throw new WeightsNotFoundError(`${dir.name}: no weights: looked for ${SAFETENSORS}, ${INDEX} (with its shards) and ${PYTORCH}; ` +
        `found ${dir.files.length ? dir.files.join(', ') : 'no files'}${dir.files.some((f) => /\.(h5|msgpack|ckpt|onnx)$/.test(f)) ? ' (TensorFlow, Flax and ONNX weights are not read: convert to safetensors)' : ''}`);
    }
    const locations = new Map<string, TensorLocation>();
    for (const f of files) for (const [k, v] of f.tensors) locations.set(k, v);
    const tensors = new Map<string, TensorInfo>();
    for (const [k, { name: n, dtype, shape, file }] of locations) tensors.set(k, { name: n, dtype, shape, file });
    let closed = false;
    const verified = new Set<string>(); // checksummed ranges already read and found intact
    const readChecked = async (loc: TensorLocation): Promise<Uint8Array> => {
      const sum = loc.checksum;
      const key = sum && `${loc.file}:${sum.byteOffset}`;
      if (!sum || verified.has(key!)) return loc.source.read(loc.byteOffset, loc.byteLength);
      const whole = await loc.source.read(sum.byteOffset, sum.byteLength);
      const crc = crc32(whole);
      if (crc !== sum.crc32) {
        throw new CheckpointError(`${loc.file}: tensor "${loc.name}": its ${sum.what} has CRC-32 0x${crc.toString(16).padStart(8, '0')}, ` +
          `the archive records 0x${sum.crc32.toString(16).padStart(8, '0')}: the file is damaged`);
      }
      verified.add(key!);
      const start = loc.byteOffset - sum.byteOffset;
      return start === 0 && loc.byteLength === whole.length ? whole : whole.slice(start, start + loc.byteLength);
    };
    return {
      name: dir.name,
      config,
      format,
      tensors,
      async readFloat32(tensor, options = {}) {
        if (closed) throw new CheckpointError(`${dir.name}: readFloat32("${tensor}") after close()`);
        const loc = locations.get(tensor);
        if (!loc) throw new CheckpointError(`${dir.name}: no tensor "${tensor}" in the checkpoint (${locations.size} tensors${nearest(tensor, locations)})`);
        const values = toFloat32(await readChecked(loc), loc.dtype, `${loc.file}: tensor "${tensor}"`);
        if (!options.allowNonFinite) {
          const bad = countNonFinite(values);
          if (bad.count) throw new NonFiniteWeightsError(loc.file, tensor, bad.count, values.length, bad.first, values[bad.first]!);
        }
        return values;
      },
      async close() {
        closed = true;
        await closeAll();
      },
    };
  } catch (e) {
    await closeAll().catch(() => undefined);
    throw e;
  }
}

/** How many values are NaN or ±Inf, and the index of the first (-1 if none). */
export function countNonFinite(values: Float32Array): { count: number; first: number } {
  let count = 0, first = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v - v !== 0) { // NaN and ±Inf only
      if (!count) first = i;
      count++;
    }
  }
  return { count, first };
}

/** A similar name, for the message: the one sharing the longest suffix. */
function nearest(name: string, names: Map<string, unknown>): string {
  let best = '', bestLength = 0;
  for (const k of names.keys()) {
    let i = 0;
    while (i < k.length && i < name.length && k[k.length - 1 - i] === name[name.length - 1 - i]) i++;
    if (i > bestLength) { best = k; bestLength = i; }
  }
  return bestLength >= 4 ? `; did you mean "${best}"?` : '';
}

/** The index's tensors from their shards; every shard must exist and hold what it is said to. */
async function readShardIndex(dir: Folder, index: ByteSource, open: (f: string) => Promise<ByteSource>): Promise<WeightsFile> {
  const json = await readJsonObject(index);
  const map = json.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new CheckpointError(`${INDEX}: no "weight_map" object`);
  const byShard = new Map<string, string[]>();
  for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string') throw new CheckpointError(`${INDEX}: tensor "${tensor}" is mapped to ${JSON.stringify(shard)}, not a file name`);
    byShard.set(shard, [...(byShard.get(shard) ?? []), tensor]);
  }
  const missing = [...byShard.keys()].filter((s) => !dir.files.includes(s));
  if (missing.length) {
    throw new CheckpointError(`${INDEX}: shard ${missing.map((s) => `"${s}" (holding e.g. "${byShard.get(s)![0]}")`).join(', ')} ` +
      `${missing.length > 1 ? 'are' : 'is'} not in ${dir.name}; download the missing shard${missing.length > 1 ? 's' : ''}`);
  }
  const tensors = new Map<string, TensorLocation>();
  // Shards are opened one after another: their headers are small, and the files stay few.
  for (const [shard, names] of byShard) {
    const weights = await readSafetensors(await open(shard));
    for (const n of names) {
      const loc = weights.tensors.get(n);
      if (!loc) throw new CheckpointError(`${INDEX}: tensor "${n}" is mapped to "${shard}", which does not contain it`);
      tensors.set(n, loc);
    }
  }
  return { file: INDEX, format: 'safetensors', tensors };
}
