// Node-only: kernel tuning's cache as a JSON file (src/ops/autotune.ts), by default
// `${XDG_CACHE_HOME:-~/.cache}/wgprune/tuning.json`. Node's modules are imported by computed
// specifiers (as src/io/node.ts does), so a browser bundle that reaches this module does not
// pull them in. A missing file reads as empty; a corrupt or foreign one is ignored with one
// warning line and replaced at the next save; a failed write warns and is otherwise ignored:
// the cache never stops a run.
import { parseTuningFile, tuningFileFormat, tuningFileVersion, type CachedChoice, type TuningCache, type TuningFile } from '../ops/autotune.js';
import { WgpruneError } from '../runtime/errors.js';

type Fs = typeof import('node:fs/promises');
type Path = typeof import('node:path');
type Os = typeof import('node:os');

async function nodeModules(): Promise<{ fs: Fs; path: Path; os: Os }> {
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new WgpruneError('the kernel tuning cache file needs Node; in a browser, tuneKernels keeps its choices in memory');
  }
  const fsName = 'node:fs/promises', pathName = 'node:path', osName = 'node:os';
  const [fs, path, os] = await Promise.all([import(/* @vite-ignore */ fsName), import(/* @vite-ignore */ pathName), import(/* @vite-ignore */ osName)]);
  return { fs: fs as Fs, path: path as Path, os: os as Os };
}

/** `${XDG_CACHE_HOME:-~/.cache}/wgprune/tuning.json`. */
export async function defaultTuningFile(): Promise<string> {
  const { path, os } = await nodeModules();
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'wgprune', 'tuning.json');
}

export interface FileTuningCacheOptions {
  /** The file (default: defaultTuningFile()). */
  file?: string;
  /** Where the one warning line goes (default: console.warn). */
  warn?: (line: string) => void;
}

/** Kernel tuning's cache in a JSON file: pass it to tuneKernels as `cache`. */
export async function fileTuningCache(options: FileTuningCacheOptions = {}): Promise<TuningCache> {
  const { fs, path } = await nodeModules();
  const file = path.resolve(options.file ?? await defaultTuningFile());
  const warn = options.warn ?? ((line: string) => console.warn(line));
  let warned = false;
  const warnOnce = (line: string) => { if (!warned) { warned = true; warn(line); } };

  /** The file's content, empty when it is missing, corrupt or foreign (those warn). */
  async function read(): Promise<TuningFile> {
    const empty: TuningFile = { format: tuningFileFormat, version: tuningFileVersion, adapters: {} };
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') warnOnce(`warning: kernel tuning cache ${file} cannot be read (${(e as Error).message}); tuning without it`);
      return empty;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      warnOnce(`warning: kernel tuning cache ${file} is not valid JSON; ignored, and replaced when tuning next saves`);
      return empty;
    }
    const parsed = parseTuningFile(json);
    if (typeof parsed === 'string') {
      warnOnce(`warning: kernel tuning cache ${file} is not wgprune's (${parsed}); ignored, and replaced when tuning next saves`);
      return empty;
    }
    return parsed;
  }

  return {
    where: file,
    load: async (adapter) => (await read()).adapters[adapter] ?? {},
    save: async (adapter, entries: Record<string, CachedChoice>) => {
      const content = await read();
      content.adapters[adapter] = { ...content.adapters[adapter], ...entries };
      const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
      try {
        await fs.mkdir(path.dirname(file), { recursive: true });
        await fs.writeFile(tmp, JSON.stringify(content, null, 1) + '\n');
        await fs.rename(tmp, file);
        return true;
      } catch (e) {
        await fs.rm(tmp, { force: true }).catch(() => {});
        warnOnce(`warning: kernel tuning cache ${file} cannot be written (${(e as Error).message}); the choices hold for this run only`);
        return false;
      }
    },
  };
}
