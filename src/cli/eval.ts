import { parseArgs } from 'node:util';
import { evaluateGlue, evaluateSquad } from '../eval/task.js';
import { WgpruneError } from '../runtime/errors.js';
import { bundledModel, openModel, progress, readTask, taskOptions } from './common.js';

export const evalHelp = `usage: wgprune eval --task TASK --data FILE [--model DIR] [options]

Runs a model over a labelled dev set and prints the task's metrics.

  --model DIR        Hugging Face folder (default: the bundled sst2-mini)
  --task TASK        cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, squad, squad-v2
  --data FILE        the task's dev file: GLUE TSV as distributed, or SQuAD JSON
  --batch-size N     sequences per batch (default 32; 16 for SQuAD)
  --max-length N     tokens per sequence (default 128; 384 for SQuAD)
  --limit N          only the first N examples
  --json             print the result as JSON on stdout
  --adapter NAME     Dawn adapter (e.g. llvmpipe)`;

export async function evalCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ...taskOptions, json: { type: 'boolean' } } });
  if (values.help) { console.log(evalHelp); return; }
  if (!values.task || !values.data) throw new WgpruneError(`--task and --data are required\n\n${evalHelp}`);
  const { task, batchSize, maxLength, glue, squadData } = await readTask(values);
  const { rt, model, tokenizer } = await openModel(values.model ?? bundledModel, values.adapter ? [`adapter=${values.adapter}`] : []);
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
    rt.destroy();
  }
}
