// Node only: reads a model folder's tokenizer files for loadTokenizer (which takes text, so
// that the browser can hand it fetched files instead).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOKENIZER_FILE_NAMES, loadTokenizer, type LoadTokenizerOptions, type ModelType, type Tokenizer, type TokenizerFiles } from './tokenizer.js';

export async function readTokenizerFiles(dir: string): Promise<TokenizerFiles> {
  const files: TokenizerFiles = {};
  for (const name of TOKENIZER_FILE_NAMES) {
    try {
      files[name] = await readFile(join(dir, name), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return files;
}

export async function loadTokenizerFromDir(dir: string, modelType: ModelType, opts: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  return loadTokenizer(await readTokenizerFiles(dir), modelType, opts);
}
