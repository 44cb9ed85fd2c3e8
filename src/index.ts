// The Node entry of the wgprune package (`exports` condition "node"): the shared API
// (src/api.ts) on Dawn through the `webgpu` package, plus model folders, data files and
// output folders by path.
import { fileURLToPath } from 'node:url';
import { readGlueTsv, readSquadJson } from './data/files.js';
import { directoryFolder, writeFolder } from './io/node.js';
import { openModelFromFolder, type OpenedModel, type OpenModelOptions } from './open.js';
import type { Runtime } from './runtime/runtime.js';

export * from './api.js';
export { readGlueTsv, readSquadJson, writeFolder };
export { fileTuningCache, defaultTuningFile, type FileTuningCacheOptions } from './io/tuning-file.js';

/** Model and tokenizer from a Hugging Face model folder on disk. */
export async function openModelFolder(rt: Runtime, path: string, options: OpenModelOptions = {}): Promise<OpenedModel> {
  return openModelFromFolder(rt, await directoryFolder(path), options);
}

// Paths beside dist/, where this module is bundled (dist/index.js).
const inPackage = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

/**
 * What the package ships for `wgprune demo` (data/PROVENANCE.md): sst2-mini, a 4-layer BERT
 * fine-tuned on SST-2; SST-2's dev set (872 sentences); 2,048 of its training sentences.
 */
export const bundled = {
  model: inPackage('models/sst2-mini'),
  dev: inPackage('data/glue/SST-2/dev.tsv'),
  samples: inPackage('data/glue/SST-2/train-2048.tsv'),
} as const;
