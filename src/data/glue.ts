// GLUE readers for the TSV files as the GLUE download distributes them (and as Hugging
// Face's transformers glue processors read them): tab-separated, no quoting (sentences
// contain literal '"'), one header line except CoLA's train/dev. Each task's columns are
// found by header name, so MNLI's train (12 columns) and dev (16 columns) both read.
import { DataError, decodeText, splitLines } from './text.js';

export type GlueTask = 'cola' | 'sst2' | 'mrpc' | 'stsb' | 'qqp' | 'mnli' | 'qnli' | 'rte';
export const GLUE_TASKS: readonly GlueTask[] = ['cola', 'sst2', 'mrpc', 'stsb', 'qqp', 'mnli', 'qnli', 'rte'];

export interface GlueExample {
  textA: string;
  textB?: string;
  /** Class index into the task's labels, or STS-B's similarity score (0 to 5). */
  label: number;
}

export interface GlueTaskInfo {
  task: GlueTask;
  /** Label strings in class-index order (Hugging Face's processors' order); null for STS-B. */
  labels: readonly string[] | null;
  /** Header names of the text and label columns; CoLA (no header) uses column indices. */
  columns: { textA: string | number; textB?: string | number; label: string | number };
  /** CoLA's train/dev files have no header line (source, label, original notation, sentence). */
  hasHeader: boolean;
  /** The metrics GLUE reports for the task, first one the main one. */
  metrics: readonly ('accuracy' | 'f1' | 'matthews' | 'pearson' | 'spearman')[];
}

export const GLUE_TASK_INFO: Record<GlueTask, GlueTaskInfo> = {
  cola: { task: 'cola', labels: ['0', '1'], columns: { textA: 3, label: 1 }, hasHeader: false, metrics: ['matthews'] },
  sst2: { task: 'sst2', labels: ['0', '1'], columns: { textA: 'sentence', label: 'label' }, hasHeader: true, metrics: ['accuracy'] },
  mrpc: { task: 'mrpc', labels: ['0', '1'], columns: { textA: '#1 String', textB: '#2 String', label: 'Quality' }, hasHeader: true, metrics: ['f1', 'accuracy'] },
  stsb: { task: 'stsb', labels: null, columns: { textA: 'sentence1', textB: 'sentence2', label: 'score' }, hasHeader: true, metrics: ['pearson', 'spearman'] },
  qqp: { task: 'qqp', labels: ['0', '1'], columns: { textA: 'question1', textB: 'question2', label: 'is_duplicate' }, hasHeader: true, metrics: ['f1', 'accuracy'] },
  mnli: { task: 'mnli', labels: ['contradiction', 'entailment', 'neutral'], columns: { textA: 'sentence1', textB: 'sentence2', label: 'gold_label' }, hasHeader: true, metrics: ['accuracy'] },
  qnli: { task: 'qnli', labels: ['entailment', 'not_entailment'], columns: { textA: 'question', textB: 'sentence', label: 'label' }, hasHeader: true, metrics: ['accuracy'] },
  rte: { task: 'rte', labels: ['entailment', 'not_entailment'], columns: { textA: 'sentence1', textB: 'sentence2', label: 'label' }, hasHeader: true, metrics: ['accuracy'] },
};

/** 'SST-2', 'sst-2', 'STS-B', 'MNLI-mm' ... -> the task. */
export function glueTask(name: string): GlueTask {
  const key = name.toLowerCase().replace(/[-_ ]/g, '').replace(/^mnli(mm|m|matched|mismatched)$/, 'mnli') as GlueTask;
  if (!GLUE_TASKS.includes(key)) throw new DataError(name, undefined, `unknown GLUE task; use one of ${GLUE_TASKS.join(', ')}`);
  return key;
}

export interface GlueData {
  task: GlueTask;
  labels: readonly string[] | null;
  examples: GlueExample[];
}

/**
 * Reads one labelled GLUE split (train or dev; test files have no labels). `file` names the
 * file in errors. Wrong column counts, unknown labels and empty files are errors.
 */
export function parseGlueTsv(task: GlueTask, data: string | Uint8Array, file = `${task}.tsv`): GlueData {
  const info = GLUE_TASK_INFO[task];
  const lines = splitLines(decodeText(data, file));
  if (lines.length === 0) throw new DataError(file, undefined, `empty file; expected the GLUE ${task} TSV`);
  let width: number, first = 0;
  const at: { textA: number; textB?: number; label: number } = { textA: 0, label: 0 };
  if (info.hasHeader) {
    const header = lines[0]!.split('\t');
    const find = (name: string | number) => {
      const i = typeof name === 'number' ? name : header.indexOf(name);
      if (i < 0) throw new DataError(file, 1, `header has no '${name}' column (found: ${header.join(', ')}); is this the GLUE ${task} file?`);
      return i;
    };
    at.textA = find(info.columns.textA);
    if (info.columns.textB !== undefined) at.textB = find(info.columns.textB);
    at.label = find(info.columns.label);
    width = header.length;
    first = 1;
  } else {
    at.textA = info.columns.textA as number;
    at.label = info.columns.label as number;
    width = 4;
    if (lines[0]!.split('\t').length === 2 && lines[0]!.startsWith('index\t')) {
      throw new DataError(file, 1, `this is the unlabelled ${task} test file (header 'index\\tsentence'); give train.tsv or dev.tsv`);
    }
  }
  if (lines.length === first) throw new DataError(file, undefined, 'no examples after the header');
  const examples: GlueExample[] = [];
  for (let n = first; n < lines.length; n++) {
    const fields = lines[n]!.split('\t');
    if (fields.length !== width) {
      throw new DataError(file, n + 1, `${fields.length} tab-separated fields, expected ${width}${fields.length === 1 && !lines[n] ? ' (empty line)' : ''}`);
    }
    const raw = fields[at.label]!;
    let label: number;
    if (info.labels) {
      label = info.labels.indexOf(raw);
      if (label < 0) throw new DataError(file, n + 1, `unknown ${task} label '${raw}'; expected one of ${info.labels.join(', ')}`);
    } else {
      label = raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(label) || label < 0 || label > 5) throw new DataError(file, n + 1, `STS-B score '${raw}' is not a number from 0 to 5`);
    }
    const example: GlueExample = { textA: fields[at.textA]!, label };
    if (at.textB !== undefined) example.textB = fields[at.textB]!;
    examples.push(example);
  }
  return { task, labels: info.labels, examples };
}
