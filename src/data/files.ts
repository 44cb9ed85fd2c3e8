// Node only: reads GLUE and SQuAD files from disk for the string/byte parsers, which the
// browser feeds with fetched files instead.
import { readFile } from 'node:fs/promises';
import { parseGlueTsv, type GlueData, type GlueTask } from './glue.js';
import { parseSquadJson, type SquadData } from './squad.js';

export async function readGlueTsv(task: GlueTask, path: string): Promise<GlueData> {
  return parseGlueTsv(task, await readFile(path), path);
}

export async function readSquadJson(path: string): Promise<SquadData> {
  return parseSquadJson(await readFile(path), path);
}
