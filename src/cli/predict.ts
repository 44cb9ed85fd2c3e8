import { parseArgs } from 'node:util';
import { evaluateGlue, evaluateSquad } from '../eval/task.js';
import { UsageError } from '../runtime/errors.js';
import { bundledModel, progress, readTask, taskOptions, writeAtomically, closeRuntime } from './common.js';
import { checkOutputFile, openTaskModel } from './checks.js';
import { checkTaskOptions } from './eval.js';

export const predictHelp = `usage: wgprune predict --task TASK --data FILE --out FILE.jsonl [--model DIR] [options]

Writes one JSON line per example: GLUE, {"index", "logits", "prediction", "label"};
SQuAD, {"id", "text", "score"}. Options as for eval. --out is checked before any work:
its folder must exist, and it must not be the --data file or a file of the --model folder.`;

export async function predictCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ...taskOptions, out: { type: 'string' }, 'allow-nonfinite': { type: 'boolean' } } });
  if (values.help) { console.log(predictHelp); return; }
  if (!values.out) throw new UsageError('--task, --data and --out are required');
  await checkTaskOptions(values, '--task, --data and --out are');
  const modelDir = values.model ?? bundledModel;
  await checkOutputFile(values.out, '--out', [{ path: values.data!, flag: '--data' }, { path: modelDir, flag: '--model' }]);
  const { task, batchSize, maxLength, glue, squadData } = await readTask(values);
  const { rt, model, tokenizer } = await openTaskModel(modelDir, {
    dawnOptions: values.adapter ? [`adapter=${values.adapter}`] : [], allowNonFinite: values['allow-nonfinite'] ?? false,
  });
  try {
    let lines: string[];
    if (glue) {
      const r = await evaluateGlue(model, tokenizer, glue, { batchSize, maxLength, onProgress: progress('examples') });
      const width = model.config.numLabels;
      lines = glue.examples.map((e, i) => JSON.stringify({ index: i, logits: Array.from(r.logits.subarray(i * width, (i + 1) * width)), prediction: r.predictions[i], label: e.label }));
    } else {
      const r = await evaluateSquad(model, tokenizer, squadData!, task === 'squad-v2', { batchSize, maxLength, onProgress: progress('features') });
      lines = squadData!.examples.map((e) => {
        const p = r.predictions.get(e.id);
        return JSON.stringify({ id: e.id, text: p?.text ?? '', score: p?.bestSpanScore ?? null });
      });
    }
    await writeAtomically(values.out, lines.join('\n') + '\n');
    console.error(`wrote ${lines.length} predictions to ${values.out}`);
  } finally {
    model.dispose();
    await closeRuntime(rt);
  }
}
