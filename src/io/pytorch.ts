// pytorch_model.bin, as torch.save writes a state dict, in both formats:
// - zip (PyTorch >= 1.6): <archive>/data.pkl, a pickle whose tensors name their storages
//   by persistent ids ('storage', FloatStorage, key, location, numel), and one stored entry
//   <archive>/data/<key> per storage;
// - legacy (before 1.6, or _use_new_zipfile_serialization=False): pickles back to back
//   (magic number, protocol version, sys_info, the state dict, the list of storage keys),
//   then for each key in that order an 8-byte little-endian element count and the raw data
//   (torch/serialization.py, _legacy_load).
// Only the pickle is read when opening; a tensor's bytes are read when asked for.
import { dtypeBytes, numel, type WeightDType } from './dtype.js';
import { CheckpointError, UnsupportedCheckpointError } from './errors.js';
import { describeValue, PickleTruncated, unpickle, type PickleHooks, type PickleValue } from './pickle.js';
import type { ByteSource } from './source.js';
import type { TensorLocation, WeightsFile } from './tensor-info.js';
import { crc32 } from './crc32.js';
import { readZipArchive } from './zip.js';

const STORAGE_TYPES: Record<string, WeightDType> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64',
  LongStorage: 'I64', IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8',
  ByteStorage: 'U8', BoolStorage: 'BOOL',
};

const REBUILD_TENSOR = 'torch._utils _rebuild_tensor_v2';
const REBUILD_PARAMETER = 'torch._utils _rebuild_parameter';
const REBUILD_PARAMETER_WITH_STATE = 'torch._utils _rebuild_parameter_with_state';
const REBUILD_FROM_TYPE = 'torch._tensor _rebuild_from_type_v2';
const ORDERED_DICT = 'collections OrderedDict';
const TENSOR_TYPES = ['torch Tensor', 'torch._tensor Tensor', 'torch.nn.parameter Parameter'];

/** Everything torch.save writes for a state dict of tensors, and nothing more. */
const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE, REBUILD_FROM_TYPE,
  ...TENSOR_TYPES, ...Object.keys(STORAGE_TYPES).map((s) => `torch ${s}`),
]);

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

/** A storage as a persistent id names it; legacy views add an element offset into a root. */
interface StorageRef { key: string; dtype: WeightDType; numel: number; elementOffset: number }
interface TensorRef { storage: StorageRef; offset: number; shape: number[]; stride: number[] }

const host = (value: StorageRef | TensorRef): PickleValue => ({ kind: 'host', value });

function hostValue(v: PickleValue): StorageRef | TensorRef | undefined {
  return v !== null && typeof v === 'object' && v.kind === 'host' ? (v.value as StorageRef | TensorRef) : undefined;
}
const isTensor = (v: unknown): v is TensorRef => typeof v === 'object' && v !== null && 'stride' in v;
const isStorage = (v: unknown): v is StorageRef => typeof v === 'object' && v !== null && 'key' in v;

function ints(v: PickleValue, what: string, fail: (m: string) => never): number[] {
  if (v === null || typeof v !== 'object' || v.kind !== 'tuple' || !v.items.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) {
    return fail(`${what} is ${describeValue(v)}, not a tuple of integers`);
  }
  return v.items as number[];
}

/** The hooks that give meaning to the allowed globals; `persistent` parses a persistent id. */
function stateDictHooks(what: string, persistent: (pid: PickleValue[]) => StorageRef): PickleHooks {
  const fail = (m: string): never => { throw new CheckpointError(`${what}: ${m}`); };
  const reduce = (callable: { module: string; name: string }, args: PickleValue[]): PickleValue => {
    const fn = `${callable.module} ${callable.name}`;
    switch (fn) {
      case ORDERED_DICT: {
        const dict: PickleValue = { kind: 'dict', entries: new Map() };
        if (args.length === 0) return dict;
        return fail('OrderedDict built from arguments; torch.save writes an empty one and fills it');
      }
      case REBUILD_TENSOR: {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (args.length < 4) fail(`_rebuild_tensor_v2 with ${args.length} arguments`);
        const storage = hostValue(args[0]!);
        if (!isStorage(storage)) return fail(`_rebuild_tensor_v2 of ${describeValue(args[0]!)} instead of a storage`);
        const offset = args[1];
        if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return fail(`tensor storage offset ${String(offset)} is not a non-negative integer`);
        return host({ storage, offset, shape: ints(args[2]!, 'tensor size', fail), stride: ints(args[3]!, 'tensor stride', fail) });
      }
      case REBUILD_PARAMETER: case REBUILD_PARAMETER_WITH_STATE: {
        // (data, requires_grad, backward_hooks[, state]): a Parameter is its data.
        if (!isTensor(hostValue(args[0] ?? null))) fail(`${callable.name} of ${describeValue(args[0])} instead of a tensor`);
        return args[0]!;
      }
      case REBUILD_FROM_TYPE: {
        // (func, new_type, args, state): a tensor subclass; allowed for Tensor and Parameter.
        const [func, type, inner] = args;
        if (func === null || typeof func !== 'object' || func.kind !== 'global' || `${func.module} ${func.name}` !== REBUILD_TENSOR) {
          return fail(`_rebuild_from_type_v2 with function ${describeValue(func)}; only _rebuild_tensor_v2 is allowed`);
        }
        if (type === null || typeof type !== 'object' || type.kind !== 'global' || !TENSOR_TYPES.includes(`${type.module} ${type.name}`)) {
          return fail(`_rebuild_from_type_v2 to type ${describeValue(type)}; only Tensor and Parameter are allowed`);
        }
        if (inner === null || typeof inner !== 'object' || inner.kind !== 'tuple') return fail('_rebuild_from_type_v2 without an argument tuple');
        return reduce(func, inner.items);
      }
      default:
        return fail(`${callable.module}.${callable.name} is allowed only as a type tag, not called`);
    }
  };
  return {
    globals: ALLOWED_GLOBALS,
    persistentLoad(pid) {
      if (pid === null || typeof pid !== 'object' || pid.kind !== 'tuple' || pid.items[0] !== 'storage') {
        return fail(`persistent id ${describeValue(pid)} is not a storage (a pickled module or other object?)`);
      }
      return host(persistent(pid.items));
    },
    reduce,
    build(obj, _state) {
      // OrderedDict's state is its _metadata attribute (module versions); a tensor's, Python
      // attributes. Neither matters for weights.
      if (obj !== null && typeof obj === 'object' && (obj.kind === 'dict' || obj.kind === 'host')) return obj;
      return fail(`BUILD on ${describeValue(obj)}`);
    },
  };
}

function storageType(v: PickleValue | undefined, what: string): WeightDType {
  const dtype = v !== null && typeof v === 'object' && v.kind === 'global' && v.module === 'torch' ? STORAGE_TYPES[v.name] : undefined;
  if (!dtype) throw new CheckpointError(`${what}: storage type ${describeValue(v)} is not a torch storage class`);
  return dtype;
}

/** Storages by key, with one dtype and element count each, as persistent ids name them. */
class StorageTable {
  readonly byKey = new Map<string, StorageRef>();
  constructor(private readonly what: string) {}

  root(key: PickleValue | undefined, dtype: WeightDType, count: PickleValue | undefined): StorageRef {
    if (typeof key !== 'string' || typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
      throw new CheckpointError(`${this.what}: storage persistent id with key ${describeValue(key)} and size ${describeValue(count)}`);
    }
    const known = this.byKey.get(key);
    if (known && (known.dtype !== dtype || known.numel !== count)) {
      throw new CheckpointError(`${this.what}: storage "${key}" is named as ${known.numel} ${known.dtype} and as ${count} ${dtype}`);
    }
    const ref = known ?? { key, dtype, numel: count, elementOffset: 0 };
    this.byKey.set(key, ref);
    return ref;
  }
}

/** The state dict's tensors, checked: contiguous, inside their storage. */
function stateDictTensors(value: PickleValue, what: string): Map<string, TensorRef> {
  if (value === null || typeof value !== 'object' || value.kind !== 'dict') {
    throw new CheckpointError(`${what}: the pickle holds ${describeValue(value)}, not a state dict`);
  }
  const out = new Map<string, TensorRef>();
  for (const [name, v] of value.entries) {
    if (typeof name !== 'string') throw new CheckpointError(`${what}: state dict key ${String(name)} is not a string`);
    const t = hostValue(v);
    if (!isTensor(t)) throw new CheckpointError(`${what}: state dict entry "${name}" is ${describeValue(v)}, not a tensor (not a plain state dict?)`);
    const { shape, stride } = t;
    if (!shape.every((d) => d >= 0) || stride.length !== shape.length) {
      throw new CheckpointError(`${what}: tensor "${name}": size [${shape.join(', ')}] with stride [${stride.join(', ')}]`);
    }
    if (numel(shape) > 0) {
      let expected = 1;
      for (let i = shape.length - 1; i >= 0; i--) {
        if (shape[i]! !== 1 && stride[i] !== expected) {
          throw new UnsupportedCheckpointError(`${what}: tensor "${name}" is not contiguous (size [${shape.join(', ')}], stride [${stride.join(', ')}]); ` +
            'save state dicts of contiguous tensors ({k: v.contiguous() for k, v in sd.items()})');
        }
        expected *= shape[i]!;
      }
    }
    out.set(name, t);
  }
  return out;
}

/**
 * Where each tensor's bytes lie, given each storage's first data byte and byte size.
 * Views into one storage (tied weights) resolve to ranges of it.
 */
function locate(tensors: Map<string, TensorRef>, source: ByteSource, what: string, storages: Map<string, { dataOffset: number; byteSize: number; crc32?: number }>): Map<string, TensorLocation> {
  const out = new Map<string, TensorLocation>();
  for (const [name, t] of tensors) {
    const s = storages.get(t.storage.key)!;
    const size = dtypeBytes[t.storage.dtype];
    const begin = (t.storage.elementOffset + t.offset) * size, byteLength = numel(t.shape) * size;
    if (begin + byteLength > s.byteSize) {
      throw new CheckpointError(`${what}: tensor "${name}" (elements ${t.storage.elementOffset + t.offset}..${t.storage.elementOffset + t.offset + numel(t.shape)}) ` +
        `lies outside its storage "${t.storage.key}" of ${s.byteSize / size} elements`);
    }
    const checksum = s.crc32 === undefined ? {} : { checksum: { byteOffset: s.dataOffset, byteLength: s.byteSize, crc32: s.crc32, what: `zip entry of storage "${t.storage.key}"` } };
    out.set(name, { name, dtype: t.storage.dtype, shape: t.shape, file: source.name, source, byteOffset: s.dataOffset + begin, byteLength, ...checksum });
  }
  return out;
}

export async function readPytorch(source: ByteSource): Promise<WeightsFile> {
  const head = await source.read(0, Math.min(source.size, 512));
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return readZipCheckpoint(source);
  if (head[0] === 0x80 && head[2] === 0x8a) return readLegacyCheckpoint(source);
  if (head.length >= 262 && String.fromCharCode(...head.subarray(257, 262)) === 'ustar') {
    throw new UnsupportedCheckpointError(`${source.name}: a tar-format PyTorch checkpoint (PyTorch before 0.4); load it in Python and save the state dict as safetensors`);
  }
  throw new CheckpointError(`${source.name}: neither a zip (torch.save since 1.6) nor a legacy PyTorch checkpoint (starts with ${[...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
}

async function readZipCheckpoint(source: ByteSource): Promise<WeightsFile> {
  const file = source.name;
  const entries = await readZipArchive(source);
  const pkl = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl.length !== 1) {
    throw new CheckpointError(`${file}: a zip archive but not a torch.save checkpoint: expected one <name>/data.pkl, found ${pkl.length ? pkl.join(', ') : 'none'}`);
  }
  const prefix = pkl[0]!.slice(0, -'data.pkl'.length);
  const readEntry = async (name: string) => {
    const entry = entries.get(name)!;
    const bytes = await source.read(entry.dataOffset, entry.size);
    const crc = crc32(bytes);
    if (crc !== entry.crc32) throw new CheckpointError(`${file}: zip entry "${name}" has CRC-32 ${crcHex(crc)}, the archive records ${crcHex(entry.crc32)}: the file is damaged`);
    return bytes;
  };
  const byteorder = entries.get(`${prefix}byteorder`);
  if (byteorder) {
    const order = new TextDecoder().decode(await readEntry(byteorder.name));
    if (order !== 'little') throw new UnsupportedCheckpointError(`${file}: saved with byte order "${order}"; wgprune reads little-endian checkpoints`);
  }
  const what = `${file} (${pkl[0]})`;
  const table = new StorageTable(what);
  const hooks = stateDictHooks(what, (pid) => {
    // ('storage', storage_type, key, location, numel)
    if (pid.length !== 5) throw new CheckpointError(`${what}: storage persistent id of ${pid.length} items, expected 5`);
    return table.root(pid[2], storageType(pid[1], what), pid[4]);
  });
  let value: PickleValue;
  try {
    ({ value } = unpickle(await readEntry(pkl[0]!), 0, hooks, what));
  } catch (e) {
    if (e instanceof PickleTruncated) throw new CheckpointError(`${what}: the pickle ends before its STOP opcode (damaged archive?)`);
    throw e;
  }
  const tensors = stateDictTensors(value, what);
  // torch.save writes exactly the storages its tensors use: an entry no storage names means
  // a key in the pickle was changed (and a tensor may read another's storage).
  for (const name of entries.keys()) {
    if (name.startsWith(`${prefix}data/`) && !table.byKey.has(name.slice(`${prefix}data/`.length))) {
      throw new CheckpointError(`${file}: zip entry "${name}" is a storage no tensor uses: the pickle or the archive is damaged`);
    }
  }
  const storages = new Map<string, { dataOffset: number; byteSize: number; crc32: number }>();
  for (const s of table.byKey.values()) {
    const entry = entries.get(`${prefix}data/${s.key}`);
    if (!entry) throw new CheckpointError(`${file}: storage "${s.key}" has no entry ${prefix}data/${s.key} in the archive`);
    if (entry.size !== s.numel * dtypeBytes[s.dtype]) {
      throw new CheckpointError(`${file}: zip entry "${entry.name}" holds ${entry.size} bytes but its storage has ${s.numel} ${s.dtype} elements (${s.numel * dtypeBytes[s.dtype]} bytes)`);
    }
    storages.set(s.key, { dataOffset: entry.dataOffset, byteSize: entry.size, crc32: entry.crc32 });
  }
  return { file, format: 'pytorch-zip', tensors: locate(tensors, source, file, storages) };
}

const crcHex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;

async function readLegacyCheckpoint(source: ByteSource): Promise<WeightsFile> {
  const file = source.name;
  const table = new StorageTable(file);
  // Views (very old files): a storage slice (view_key, offset, size) of a root storage.
  const views = new Map<string, StorageRef>();
  const hooks = stateDictHooks(file, (pid) => {
    // ('storage', storage_type, root_key, location, numel, view_metadata)
    if (pid.length !== 6) throw new CheckpointError(`${file}: legacy storage persistent id of ${pid.length} items, expected 6`);
    const root = table.root(pid[2], storageType(pid[1], file), pid[4]);
    const view = pid[5];
    if (view === null || view === undefined) return root;
    if (typeof view !== 'object' || view.kind !== 'tuple' || view.items.length !== 3) throw new CheckpointError(`${file}: storage view metadata is ${describeValue(view)}`);
    const [viewKey, offset, size] = view.items;
    if (typeof viewKey !== 'string' || typeof offset !== 'number' || typeof size !== 'number' || offset < 0 || size < 0 || offset + size > root.numel) {
      throw new CheckpointError(`${file}: storage view ${describeValue(viewKey)} outside its root storage "${root.key}"`);
    }
    const ref = views.get(viewKey) ?? { key: root.key, dtype: root.dtype, numel: size, elementOffset: offset };
    views.set(viewKey, ref);
    return ref;
  });
  const plainHooks: PickleHooks = { ...hooks, persistentLoad: () => { throw new CheckpointError(`${file}: persistent id outside the state dict pickle`); } };
  // The pickles come first and their length is known only by parsing them: read a prefix,
  // and a longer one if they run past it.
  for (let length = Math.min(source.size, 1 << 16); ; length = Math.min(source.size, length * 4)) {
    const bytes = await source.read(0, length);
    try {
      const magic = unpickle(bytes, 0, plainHooks, file);
      if (magic.value !== LEGACY_MAGIC) throw new CheckpointError(`${file}: not a PyTorch checkpoint (the legacy format starts with magic number 0x${LEGACY_MAGIC.toString(16)})`);
      const version = unpickle(bytes, magic.end, plainHooks, file);
      if (version.value !== LEGACY_PROTOCOL_VERSION) throw new UnsupportedCheckpointError(`${file}: legacy protocol version ${String(version.value)}; wgprune reads ${LEGACY_PROTOCOL_VERSION}`);
      const sysInfo = unpickle(bytes, version.end, plainHooks, file);
      const littleEndian = sysInfo.value !== null && typeof sysInfo.value === 'object' && sysInfo.value.kind === 'dict' ? sysInfo.value.entries.get('little_endian') : undefined;
      if (littleEndian === false) throw new UnsupportedCheckpointError(`${file}: saved on a big-endian machine; wgprune reads little-endian checkpoints`);
      const stateDict = unpickle(bytes, sysInfo.end, hooks, file);
      const keys = unpickle(bytes, stateDict.end, plainHooks, file);
      const tensors = stateDictTensors(stateDict.value, file);
      const storages = await legacyStorages(source, table, keys.value, keys.end);
      return { file, format: 'pytorch-legacy', tensors: locate(tensors, source, file, storages) };
    } catch (e) {
      if (!(e instanceof PickleTruncated)) throw e;
      if (length === source.size) throw new CheckpointError(`${file}: the file ends inside its pickles (truncated file?)`);
    }
  }
}

/** After the key list: per storage, an 8-byte element count and the data, in list order. */
async function legacyStorages(source: ByteSource, table: StorageTable, keyList: PickleValue, start: number) {
  const file = source.name;
  if (keyList === null || typeof keyList !== 'object' || keyList.kind !== 'list' || !keyList.items.every((k) => typeof k === 'string')) {
    throw new CheckpointError(`${file}: expected the list of storage keys after the state dict, found ${describeValue(keyList)}`);
  }
  const storages = new Map<string, { dataOffset: number; byteSize: number }>();
  const layout: { key: string; at: number; numel: number }[] = [];
  let at = start;
  for (const key of keyList.items as string[]) {
    const s = table.byKey.get(key);
    if (!s) throw new CheckpointError(`${file}: storage key "${key}" is listed but no tensor uses it`);
    const byteSize = s.numel * dtypeBytes[s.dtype];
    if (at + 8 + byteSize > source.size) {
      throw new CheckpointError(`${file}: storage "${key}" data ends at byte ${at + 8 + byteSize} but the file has ${source.size} (truncated file?)`);
    }
    layout.push({ key, at, numel: s.numel });
    storages.set(key, { dataOffset: at + 8, byteSize });
    at += 8 + byteSize;
  }
  for (const key of table.byKey.keys()) {
    if (!storages.has(key)) throw new CheckpointError(`${file}: storage "${key}" is used by a tensor but missing from the storage key list`);
  }
  // torch.save writes nothing after the last storage: more bytes mean the file was damaged
  // (bytes inserted, or a storage's recorded size changed).
  if (at !== source.size) throw new CheckpointError(`${file}: ${source.size - at} bytes after the last storage's data (the storages end at byte ${at}): the file is damaged`);
  // Each storage's recorded element count must match what the pickle said.
  await Promise.all(layout.map(async ({ key, at: countAt, numel: expected }) => {
    const b = await source.read(countAt, 8);
    const dv = new DataView(b.buffer, b.byteOffset, 8);
    const count = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
    if (count !== expected) throw new CheckpointError(`${file}: storage "${key}" at byte ${countAt} records ${count} elements, the pickle says ${expected} (damaged file?)`);
  }));
  return storages;
}
