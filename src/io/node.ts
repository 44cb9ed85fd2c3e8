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
