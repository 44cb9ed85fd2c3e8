import { CheckpointError } from './errors.js';

/**
 * Random access to a file's bytes: loading stays lazy (a header, then one tensor at a time)
 * and works on a Node file, a browser File/Blob, or bytes in memory.
 */
export interface ByteSource {
  /** The file name used in error messages. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Exactly `length` bytes from `offset`, in a new array (safe to keep and to view as floats). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the file, where there is one. */
  close?(): Promise<void>;
}

/**
 * A folder of files by name (a Hugging Face model folder): a Node directory
 * (`directoryFolder` in ./node.ts) or a map of names to sources in the browser.
 */
export interface Folder {
  name: string;
  files: readonly string[];
  open(file: string): Promise<ByteSource>;
}

/** Bytes in memory as a source; `read` copies, so callers may keep what they get. */
export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.length,
    async read(offset, length) {
      checkRange(name, bytes.length, offset, length);
      return bytes.slice(offset, offset + length);
    },
  };
}

/** A Blob or File (browser file picker, drag and drop, fetch().blob()) as a source. */
export function blobSource(blob: Blob, name = (blob as Partial<File>).name ?? 'blob'): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      checkRange(name, blob.size, offset, length);
      const got = new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
      if (got.length !== length) throw new CheckpointError(`${name}: read ${got.length} of ${length} bytes at byte ${offset}; the file changed while reading?`);
      return got;
    },
  };
}

/** A folder from a map of file names to sources (browser: files picked by the user). */
export function mapFolder(name: string, files: Map<string, ByteSource>): Folder {
  return {
    name,
    files: [...files.keys()],
    async open(file) {
      const source = files.get(file);
      if (!source) throw new CheckpointError(`${name}: no file "${file}"`);
      return source;
    },
  };
}

export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new RangeError(`${name}: bad read range (offset ${offset}, length ${length})`);
  }
  if (offset + length > size) {
    throw new CheckpointError(`${name}: read of bytes ${offset}..${offset + length} past the end of the file (${size} bytes; truncated file?)`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 decoding; `what` names the file (and part) in the error. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new CheckpointError(`${what}: not valid UTF-8`);
  }
}

/** A whole (small) file as text: config.json, an index. */
export async function readText(source: ByteSource): Promise<string> {
  return decodeUtf8(await source.read(0, source.size), source.name);
}

/** A JSON object from a file; parse errors name the file. */
export async function readJsonObject(source: ByteSource): Promise<Record<string, unknown>> {
  const text = await readText(source);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${source.name}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CheckpointError(`${source.name}: expected a JSON object, found ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}
