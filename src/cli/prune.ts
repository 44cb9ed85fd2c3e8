import { parseArgs } from 'node:util';
import { readGlueTsv } from '../data/files.js';
import type { GlueTask } from '../data/glue.js';
import { fidelity } from '../eval/fidelity.js';
import { evaluateGlue, taskName } from '../eval/task.js';
import { averageSequenceLength } from '../prune/flops.js';
import { findMasks } from '../prune/masks.js';
import { sampleBatches } from '../prune/samples.js';
import { WgpruneError } from '../runtime/errors.js';
import { bundledModel, openModel, positiveInt, progress, writeAtomically } from './common.js';

export const pruneHelp = `usage: wgprune prune --task TASK --samples FILE --constraint C [--data FILE] [--model DIR] [options]

Finds which attention heads and FFN neurons to keep under a MACs budget (METHOD.md steps
1-3: Fisher information of the masks over a sample set, the search, the per-layer
rearrangement) and, given a dev set, compares the masked model with the full one. The masks
are binary: mask tuning (step 4) and writing a smaller checkpoint are not implemented yet.

  --model DIR         Hugging Face folder (default: the bundled sst2-mini)
  --task TASK         a GLUE task: cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte
  --samples FILE      labelled training examples (GLUE TSV) to draw the sample set from
  --sample-count N    examples drawn, seeded (default 2048)
  --seed N            seed of the draw (default 0)
  --constraint C      fraction of the encoder's MACs to keep, in (0, 1), e.g. 0.6
  --seq-len S         sequence length of the cost model (default: the reference code's
                      average for the task, else the samples' mean token count)
  --per-batch         Fisher from per-batch gradients, as the reference code (default: per example)
  --data FILE         dev set: score the full and the masked model, and their agreement
  --limit N           only the first N dev examples
  --out FILE          write the masks and the search's result as JSON
  --batch-size N      sequences per batch (default 32)
  --max-length N      tokens per sequence (default 128)
  --adapter NAME      Dawn adapter (e.g. llvmpipe)`;

/** The reference code's task names in averageSequenceLength. */
const referenceName: Partial<Record<GlueTask, string>> = { sst2: 'SST-2', mrpc: 'MRPC', stsb: 'STS-B', qnli: 'QNLI', qqp: 'QQP', mnli: 'MNLI' };

export async function pruneCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, task: { type: 'string' }, samples: { type: 'string' }, 'sample-count': { type: 'string' },
      seed: { type: 'string' }, constraint: { type: 'string' }, 'seq-len': { type: 'string' }, 'per-batch': { type: 'boolean' },
      data: { type: 'string' }, limit: { type: 'string' }, out: { type: 'string' }, 'batch-size': { type: 'string' },
      'max-length': { type: 'string' }, adapter: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) { console.log(pruneHelp); return; }
  if (!values.task || !values.samples || !values.constraint) throw new WgpruneError(`--task, --samples and --constraint are required\n\n${pruneHelp}`);
  const task = taskName(values.task);
  if (task === 'squad' || task === 'squad-v2') throw new WgpruneError('prune: question answering is not supported yet (its span loss has no mask gradients here); use a GLUE task');
  const constraint = Number(values.constraint);
  if (!(constraint > 0 && constraint < 1)) throw new WgpruneError(`--constraint is the fraction of the MACs to keep, in (0, 1); got "${values.constraint}"`);
  const seqLenFlag = values['seq-len'] === undefined ? undefined : Number(values['seq-len']);
  if (seqLenFlag !== undefined && !(seqLenFlag > 0)) throw new WgpruneError(`--seq-len must be a positive number, got "${values['seq-len']}"`);
  const batchSize = positiveInt(values['batch-size'], '--batch-size', 32);
  const maxLength = positiveInt(values['max-length'], '--max-length', 128);
  const count = positiveInt(values['sample-count'], '--sample-count', 2048);
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!(Number.isInteger(seed) && seed >= 0)) throw new WgpruneError(`--seed must be a whole number >= 0, got "${values.seed}"`);
  // Data first, so that a bad file fails before the model loads.
  const samples = await readGlueTsv(task, values.samples);
  const dev = values.data ? await readGlueTsv(task, values.data) : undefined;
  if (dev && values.limit) dev.examples.splice(positiveInt(values.limit, '--limit', 0));

  const { rt, model, tokenizer } = await openModel(values.model ?? bundledModel, values.adapter ? [`adapter=${values.adapter}`] : []);
  try {
    const c = model.config;
    const { batches, meanTokens } = sampleBatches(c, tokenizer, samples, { count, batchSize, maxLength, seed });
    const seqLen = seqLenFlag ?? (referenceName[task] ? averageSequenceLength[referenceName[task]!]! : meanTokens);
    const examples = batches.reduce((s, b) => s + b.tokens.batch, 0);
    console.log(`samples: ${examples} of ${samples.examples.length} in ${batches.length} batches; cost model at ${seqLen.toFixed(2)} tokens`);
    const found = await findMasks(model, batches, { constraint, seqLen, perBatch: values['per-batch'] ?? false });
    const { search, timings } = found;
    const L = c.layers;
    console.log(`kept:    ${(search.fraction * 100).toFixed(1)}% of the encoder's MACs (limit ${(constraint * 100).toFixed(1)}%): ` +
      `${search.heads} of ${L * c.heads} heads, ${search.neurons} of ${L * c.intermediate} neurons`);
    console.log(`layers:  heads ${found.head.map((l) => l.reduce((a, v) => a + v, 0)).join(' ')}; neurons ${found.neuron.map((l) => l.reduce((a, v) => a + v, 0)).join(' ')}`);
    console.log(`steps:   Fisher ${(timings.fisher / 1000).toFixed(1)} s (${found.fisher.perBatch ? 'per batch' : 'per example'}), search ${(timings.search / 1000).toFixed(2)} s, ` +
      `rearrangement ${(timings.rearrange / 1000).toFixed(2)} s (Fisher-block loss ${found.loss.before.toExponential(3)} → ${found.loss.after.toExponential(3)})`);

    let comparison: Record<string, unknown> | undefined;
    if (dev) {
      const full = await evaluateGlue(model, tokenizer, dev, { batchSize, maxLength, onProgress: progress('dev examples (full)') });
      const pruned = await evaluateGlue(model, tokenizer, dev, { batchSize, maxLength, masks: { head: found.head, neuron: found.neuron }, onProgress: progress('dev examples (pruned)') });
      const f = fidelity(full.logits, pruned.logits, c.numLabels);
      for (const [name, value] of Object.entries(full.metrics)) {
        console.log(`dev:     ${name.padEnd(16)} full ${value.toFixed(4)}   pruned ${pruned.metrics[name]!.toFixed(4)}`);
      }
      console.log(`dev:     ${'agreement' in f ? `agreement ${f.agreement.toFixed(4)}, mean KL(full ‖ pruned) ${f.meanKL.toFixed(4)} nats` : `mean squared difference ${f.meanSquaredDifference.toFixed(4)}`} on ${dev.examples.length} examples`);
      comparison = { examples: dev.examples.length, full: full.metrics, pruned: pruned.metrics, ...f };
    }
    if (values.out) {
      await writeAtomically(values.out, JSON.stringify({
        task, constraint, seqLen, samples: examples, perBatch: found.fisher.perBatch, macsFraction: search.fraction,
        heads: found.head, neurons: found.neuron, ...(comparison ? { dev: comparison } : {}),
      }) + '\n');
      console.log(`masks:   written to ${values.out}`);
    }
  } finally {
    model.dispose();
    rt.destroy();
  }
}
