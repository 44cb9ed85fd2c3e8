import { parseArgs } from 'node:util';
import { evaluateGlue, evaluateSquad } from '../eval/task.js';
import { WgpruneError } from '../runtime/errors.js';
import { bundledModel, openModel, progress, readTask, taskOptions, writeAtomically } from './common.js';

export const predictHelp = `usage: wgprune predict --task TASK --data FILE --out FILE.jsonl [--model DIR] [options]

Writes one JSON line per example: GLUE, {"index", "logits", "prediction", "label"};
SQuAD, {"id", "text", "score"}. Options as for eval.`;

export async function predictCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ...taskOptions, out: { type: 'string' } } });
  if (values.help) { console.log(predictHelp); return; }
  if (!values.task || !values.data || !values.out) throw new WgpruneError(`--task, --data and --out are required\n\n${predictHelp}`);
  if (values.out === values.data) throw new WgpruneError('--out must not be the input file');
  const { task, batchSize, maxLength, glue, squadData } = await readTask(values);
  const { rt, model, tokenizer } = await openModel(values.model ?? bundledModel, values.adapter ? [`adapter=${values.adapter}`] : []);
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
    rt.destroy();
  }
}
