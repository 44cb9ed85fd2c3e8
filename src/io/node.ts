// Node-only: files and directories as byte sources. node:fs is imported by a computed
// specifier (as src/runtime/gpu.ts does for 'webgpu'), so a browser bundle that imports this
// module, even without calling it, does not pull in Node's fs.
import type { FileHandle } from 'node:fs/promises';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { CheckpointError } from './errors.js';
import { checkRange, type ByteSource, type Folder } from './source.js';

type Fs = typeof import('node:fs/promises');
type Path = typeof import('node:path');

async function nodeModules(): Promise<{ fs: Fs; path: Path }> {
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new CheckpointError('reading files by path needs Node; in a browser, pass the files as a Map of names to blobSource(file)');
  }
  const fsName = 'node:fs/promises', pathName = 'node:path';
  const [fs, path] = await Promise.all([import(/* @vite-ignore */ fsName), import(/* @vite-ignore */ pathName)]);
  return { fs: fs as Fs, path: path as Path };
}

/** A file as a source: positioned reads from one open handle, never the whole file. */
export async function fileSource(filePath: string, name = filePath): Promise<ByteSource> {
  const { fs } = await nodeModules();
  let handle: FileHandle | undefined = await fs.open(filePath, 'r');
  const size = (await handle.stat()).size;
  return {
    name,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length);
      if (!handle) throw new CheckpointError(`${name}: read after close()`);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new CheckpointError(`${name}: file ended at byte ${offset + done}, expected ${size} bytes (changed while reading?)`);
        done += bytesRead;
      }
      return out;
    },
    async close() {
      const h = handle;
      handle = undefined;
      await h?.close();
    },
  };
}

/**
 * A directory as a folder: its plain files, opened on demand. Names outside the listing
 * (an index naming '../x') cannot be opened.
 */
export async function directoryFolder(dirPath: string): Promise<Folder> {
  const { fs, path } = await nodeModules();
  let entries;
  try {
    entries = await fs.readdir(dirPath, { withFileTypes: true });
  } catch (e) {
    throw new CheckpointError(`${dirPath}: cannot list the model folder: ${(e as Error).message}`);
  }
  const files = entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name).sort();
  return {
    name: dirPath,
    files,
    async open(file) {
      if (!files.includes(file)) throw new CheckpointError(`${dirPath}: no file "${file}"`);
      return fileSource(path.join(dirPath, file), file);
    },
  };
}

/** openCheckpoint on a directory path. */
export async function openCheckpointDirectory(dirPath: string): Promise<Checkpoint> {
  return openCheckpoint(await directoryFolder(dirPath));
}

/** Whether `inner` is `outer` or lies inside it (real paths, so links and `./x` against `x` compare equal). */
async function within(inner: string, outer: string): Promise<boolean> {
  const { path } = await nodeModules();
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest. */
async function realPathOf(p: string): Promise<string> {
  const { fs, path } = await nodeModules();
  const abs = path.resolve(p);
  try {
    return await fs.realpath(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(await realPathOf(parent), path.basename(abs));
  }
}

/**
 * Checks, before any work, that a model folder can be written at `dir`: its parent is an
 * existing folder, `dir` does not exist (or `force`, and it is a folder), and it neither is,
 * contains nor lies inside any of `inputs` (compared by real path). Throws a
 * CheckpointError that says which.
 */
export async function checkOutputFolder(dir: string, { force = false, inputs = [] as string[] } = {}): Promise<void> {
  const { fs, path } = await nodeModules();
  const parent = path.dirname(path.resolve(dir));
  const ps = await fs.stat(parent).catch(() => null);
  if (!ps?.isDirectory()) throw new CheckpointError(`${dir}: the folder to write it in (${parent}) does not exist`);
  const out = await realPathOf(dir);
  for (const input of inputs) {
    const real = await realPathOf(input);
    if (await within(real, out)) throw new CheckpointError(`${dir}: would replace or contain the input ${input}`);
    if (await within(out, real)) throw new CheckpointError(`${dir}: lies inside the input ${input}, which is never written to`);
  }
  const st = await fs.lstat(dir).catch(() => null);
  if (st && !force) throw new CheckpointError(`${dir}: already exists; choose another folder, or pass --force to replace it`);
  if (st && !st.isDirectory()) throw new CheckpointError(`${dir}: exists and is not a folder; it is not replaced`);
}

/**
 * Writes a folder of files (name → byte chunks) at `dir`: into a temporary sibling first,
 * renamed to `dir` once every file is complete, so an interrupted run leaves no half
 * folder. An existing `dir` is refused unless `force`; then it is replaced only after the
 * new folder is complete.
 */
export async function writeFolder(dir: string, files: ReadonlyMap<string, readonly Uint8Array[]>, { force = false } = {}): Promise<void> {
  const { fs, path } = await nodeModules();
  const abs = path.resolve(dir), stamp = `${process.pid}-${Date.now()}`;
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${stamp}.tmp`);
  const old = path.join(path.dirname(abs), `.${path.basename(abs)}.${stamp}.old`);
  await fs.mkdir(tmp);
  try {
    for (const [name, chunks] of files) {
      if (name.includes('/') || name.includes('\\') || name === '..' || name === '.') throw new CheckpointError(`writeFolder: bad file name "${name}"`);
      const handle = await fs.open(path.join(tmp, name), 'w');
      try {
        for (const c of chunks) await handle.write(c);
      } finally {
        await handle.close();
      }
    }
    const exists = await fs.lstat(abs).then(() => true, () => false);
    if (exists && !force) throw new CheckpointError(`${dir}: already exists; choose another folder, or pass --force to replace it`);
    if (exists) await fs.rename(abs, old);
    await fs.rename(tmp, abs);
    if (exists) await fs.rm(old, { recursive: true, force: true });
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
