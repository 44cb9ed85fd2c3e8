import { parseArgs } from 'node:util';
import { evaluateGlue, evaluateSquad } from '../eval/task.js';
import { UsageError } from '../runtime/errors.js';
import { bundledModel, progress, readTask, taskOptions, closeRuntime } from './common.js';
import { checkInputFile, checkModelFolder, openTaskModel, positiveIntOption, taskOption } from './checks.js';

export const evalHelp = `usage: wgprune eval --task TASK --data FILE [--model DIR] [options]

Runs a model over a labelled dev set and prints the task's metrics.

  --model DIR        Hugging Face folder (default: the bundled sst2-mini)
  --task TASK        cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, squad, squad-v2
  --data FILE        the task's dev file: GLUE TSV as distributed, or SQuAD JSON
  --batch-size N     sequences per batch (default 32; 16 for SQuAD)
  --max-length N     tokens per sequence (default 128; 384 for SQuAD)
  --limit N          only the first N examples
  --json             print the result as JSON on stdout
  --allow-nonfinite  load weights holding NaN or Inf (refused by default); a result
                     is still refused if the logits are not finite
  --adapter NAME     Dawn adapter (e.g. llvmpipe)`;

/** eval's and predict's options, checked in order of cost: values, then files, then the model folder. */
export async function checkTaskOptions(values: { task?: string; data?: string; model?: string; limit?: string; 'batch-size'?: string; 'max-length'?: string }, required: string): Promise<void> {
  if (!values.task || !values.data) throw new UsageError(`${required} required`);
  taskOption(values.task);
  for (const flag of ['limit', 'batch-size', 'max-length'] as const) positiveIntOption(values[flag], `--${flag}`, 1);
  await checkInputFile(values.data, '--data');
  await checkModelFolder(values.model ?? bundledModel);
}

export async function evalCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ...taskOptions, json: { type: 'boolean' }, 'allow-nonfinite': { type: 'boolean' } } });
  if (values.help) { console.log(evalHelp); return; }
  await checkTaskOptions(values, '--task and --data are');
  const { task, batchSize, maxLength, glue, squadData } = await readTask(values);
  const { rt, model, tokenizer } = await openTaskModel(values.model ?? bundledModel, {
    dawnOptions: values.adapter ? [`adapter=${values.adapter}`] : [], allowNonFinite: values['allow-nonfinite'] ?? false,
  });
  try {
    const t0 = performance.now();
    const result = glue
      ? await evaluateGlue(model, tokenizer, glue, { batchSize, maxLength, onProgress: progress('examples') })
      : await evaluateSquad(model, tokenizer, squadData!, task === 'squad-v2', { batchSize, maxLength, onProgress: progress('features') });
    const seconds = (performance.now() - t0) / 1000;
    if (values.json) {
      console.log(JSON.stringify({ task, examples: result.examples, metrics: result.metrics, seconds }, null, 2));
    } else {
      console.log(`${task}: ${result.examples} examples in ${seconds.toFixed(1)} s`);
      for (const [name, value] of Object.entries(result.metrics)) console.log(`  ${name.padEnd(16)} ${Number.isInteger(value) ? value : value.toFixed(4)}`);
    }
  } finally {
    model.dispose();
    await closeRuntime(rt);
  }
}
