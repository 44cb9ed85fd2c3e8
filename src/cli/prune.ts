import { parseArgs } from 'node:util';
import { readGlueTsv, readSquadJson } from '../data/files.js';
import type { GlueTask } from '../data/glue.js';
import { checkOutputFolder, directoryFolder, writeFolder } from '../io/node.js';
import { fileTuningCache } from '../io/tuning-file.js';
import type { EncoderModel } from '../models/model.js';
import { lutMismatch, type LatencyLut } from '../prune/latency.js';
import { countKept, pruneJob } from '../prune/report.js';
import { describeAdapter } from '../runtime/gpu.js';
import { UsageError, WgpruneError } from '../runtime/errors.js';
import { taskOption } from './checks.js';
import { bundledModel, openModel, positiveInt, progress, closeRuntime } from './common.js';
import { readLut } from './latency.js';

export const pruneHelp = `usage: wgprune prune --task TASK --samples FILE --constraint C [--metric flops|latency [--lut FILE]] [--out DIR] [--data FILE] [--model DIR] [options]

Prunes a fine-tuned model to a MACs budget with the method of Kwon et al. (docs/method.md):
Fisher information of the head and neuron masks over a sample set, the search, the per-layer
rearrangement, mask tuning by layer-wise least squares, and the physically smaller model
with the tuned mask values folded into its weights, written as a Hugging Face folder.

  --model DIR         Hugging Face folder, unpruned (default: the bundled sst2-mini)
  --task TASK         cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, squad, squad-v2
  --samples FILE      labelled training examples to draw the sample set from
                      (GLUE TSV, or SQuAD training JSON)
  --sample-count N    examples drawn, seeded (default 2048)
  --seed N            seed of the draw (default 0)
  --constraint C      fraction of the encoder's MACs to keep, in (0, 1), e.g. 0.6
  --metric M          flops (default): the constraint is a fraction of the MACs; latency: of
                      the latency, priced by a latency table measured on this adapter
  --lut FILE          the latency table (\`wgprune lut\`); without it, --metric latency measures
                      one first (a minute or more on a software adapter)
  --force-lut         use a table measured on another adapter or for another shape (warns)
  --seq-len S         sequence length of the cost model (default: the reference code's
                      average for the task, else the samples' mean token count)
  --per-batch         Fisher from per-batch gradients, as the reference code (default: per example)
  --no-tune           skip mask tuning (binary masks, as after the rearrangement)
  --teacher T         tuning's targets: full (the unpruned model, default) or sqrt (the
                      reference code's teacher: the search's masks at the square root of C)
  --damping D         tuning's ridge toward a mask value of 1 (default 1, the reference code's)
  --tune-first-attention  tune layer 0's attention too (the reference code skips it)
  --out DIR           write the pruned model folder (model.safetensors, config.json,
                      tokenizer files, masks.json, report.json); refused if DIR exists
  --force             replace an existing DIR (never an input)
  --data FILE         dev set: score the full model and the pruned one after each step
  --limit N           only the first N dev examples
  --batch-size N      sequences per batch (default 32; 12 for SQuAD)
  --max-length N      tokens per sequence (default 128; 384 for SQuAD)
  --doc-stride N      SQuAD: tokens of context shared by overlapping windows (default 128)
  --adapter NAME      Dawn adapter (e.g. llvmpipe)

Before the Fisher pass, the kernel variants are timed for the model's shapes on this adapter
and the fastest kept (seconds, once per adapter: cached in
\${XDG_CACHE_HOME:-~/.cache}/wgprune/tuning.json); WGPRUNE_TUNE=off keeps the defaults.`;

export async function pruneCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, task: { type: 'string' }, samples: { type: 'string' }, 'sample-count': { type: 'string' },
      seed: { type: 'string' }, constraint: { type: 'string' }, 'seq-len': { type: 'string' }, 'per-batch': { type: 'boolean' },
      'no-tune': { type: 'boolean' }, teacher: { type: 'string' }, damping: { type: 'string' }, 'tune-first-attention': { type: 'boolean' },
      data: { type: 'string' }, limit: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' }, 'batch-size': { type: 'string' },
      'max-length': { type: 'string' }, 'doc-stride': { type: 'string' }, adapter: { type: 'string' }, help: { type: 'boolean' },
      metric: { type: 'string' }, lut: { type: 'string' }, 'force-lut': { type: 'boolean' },
    },
  });
  if (values.help) { console.log(pruneHelp); return; }
  if (!values.task || !values.samples || !values.constraint) throw new UsageError(`--task, --samples and --constraint are required\n\n${pruneHelp}`);
  const task = taskOption(values.task);
  const squad = task === 'squad' || task === 'squad-v2';
  const constraint = Number(values.constraint);
  if (!(constraint > 0 && constraint < 1)) throw new UsageError(`--constraint is the fraction of the MACs to keep, in (0, 1); got "${values.constraint}"`);
  const seqLenFlag = values['seq-len'] === undefined ? undefined : Number(values['seq-len']);
  if (seqLenFlag !== undefined && !(seqLenFlag > 0 && Number.isFinite(seqLenFlag))) throw new UsageError(`--seq-len must be a positive number, got "${values['seq-len']}"`);
  const batchSize = positiveInt(values['batch-size'], '--batch-size', squad ? 12 : 32);
  const maxLength = positiveInt(values['max-length'], '--max-length', squad ? 384 : 128);
  const docStride = positiveInt(values['doc-stride'], '--doc-stride', 128);
  if (values['doc-stride'] !== undefined && !squad) throw new UsageError('--doc-stride is the overlap of SQuAD windows: it needs --task squad or squad-v2');
  const sampleCount = positiveInt(values['sample-count'], '--sample-count', 2048);
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!(Number.isInteger(seed) && seed >= 0)) throw new UsageError(`--seed must be a whole number >= 0, got "${values.seed}"`);
  const damping = values.damping === undefined ? 1 : Number(values.damping);
  if (!(damping >= 0 && Number.isFinite(damping))) throw new UsageError(`--damping must be a number >= 0, got "${values.damping}"`);
  const teacher = values.teacher ?? 'full';
  if (teacher !== 'full' && teacher !== 'sqrt') throw new UsageError(`--teacher is full or sqrt, got "${teacher}"`);
  const metric = values.metric ?? 'flops';
  if (metric !== 'flops' && metric !== 'latency') throw new UsageError(`--metric is flops or latency, got "${metric}"`);
  if (values.lut && metric !== 'latency') throw new UsageError('--lut is the latency table of --metric latency');
  const lutFile = values.lut ? await readLut(values.lut) : undefined;
  const tune = !values['no-tune'];
  if (!tune && (values.teacher || values.damping || values['tune-first-attention'])) throw new UsageError('--teacher, --damping and --tune-first-attention set tuning, which --no-tune turns off');
  const limit = values.limit === undefined ? undefined : positiveInt(values.limit, '--limit', 0);
  if (limit !== undefined && !values.data) throw new UsageError('--limit limits the dev set: give it with --data');
  const modelDir = values.model ?? bundledModel;
  // Everything that can be checked is checked before the model loads: output, then data.
  if (values.out) {
    await checkOutputFolder(values.out, { force: values.force ?? false, inputs: [modelDir, values.samples, ...(values.data ? [values.data] : [])] });
  } else if (values.force) {
    throw new UsageError('--force replaces the --out folder: give --out DIR');
  }
  const glueSamples = squad ? undefined : await readGlueTsv(task as GlueTask, values.samples);
  const squadSamples = squad ? await readSquadJson(values.samples) : undefined;
  const glueDev = values.data && !squad ? await readGlueTsv(task as GlueTask, values.data) : undefined;
  const squadDev = values.data && squad ? await readSquadJson(values.data) : undefined;
  if (limit) { glueDev?.examples.splice(limit); squadDev?.examples.splice(limit); }

  const started = performance.now();
  const { rt, model, tokenizer, configJson, format } = await openModel(modelDir, values.adapter ? [`adapter=${values.adapter}`] : []);
  let pruned: EncoderModel | undefined;
  try {
    const c = model.config;
    let lut: LatencyLut | undefined;
    if (lutFile) {
      const why = lutMismatch(lutFile, describeAdapter(rt.adapter), { hidden: c.hidden, heads: c.heads, intermediate: c.intermediate });
      if (why && !values['force-lut']) throw new WgpruneError(`--lut ${values.lut}: ${why}; measure one here with \`wgprune lut --model ${modelDir} --out lut.json\`, or pass --force-lut to use it anyway`);
      if (why) console.error(`warning: --lut ${values.lut}: ${why}; used anyway (--force-lut)`);
      lut = lutFile;
    }
    const bars = new Map<string, (done: number, total: number) => void>();
    let lutStarted = 0;
    const job = await pruneJob({
      model, tokenizer, configJson, format, folder: await directoryFolder(modelDir), modelName: modelDir, samplesName: values.samples,
      samples: (squad ? squadSamples : glueSamples)!, ...(glueDev ?? squadDev ? { dev: (glueDev ?? squadDev)! } : {}), started,
      tuningCache: await fileTuningCache({ warn: (line) => console.error(line) }),
    }, {
      task, constraint, sampleCount, seed, ...(seqLenFlag !== undefined ? { seqLen: seqLenFlag } : {}), perBatch: values['per-batch'] ?? false,
      tune, damping, teacher, tuneFirstAttention: values['tune-first-attention'] ?? false, metric,
      ...(lut ? { lut, lutFile: values.lut! } : {}), batchSize, maxLength, docStride,
    }, {
      onSamples: ({ examples, drawnFrom, batches, seqLen }) => {
        console.log(`samples: ${examples} ${squad ? 'features' : 'examples'} from ${drawnFrom} in ${batches.length} batches (seed ${seed}); cost model at ${seqLen.toFixed(2)} tokens`);
      },
      onKernels: (k) => console.log(k.line),
      onStep: (step) => {
        if (step === 'lut') {
          lutStarted = performance.now();
          console.log('latency: no --lut given; measuring a latency table on this adapter first (batch 1, 128 tokens)');
        } else if (step === 'fisher' && lutStarted) {
          console.log(`latency: table measured in ${((performance.now() - lutStarted) / 1000).toFixed(1)} s (save one with \`wgprune lut\` to reuse it)`);
        }
      },
      onProgress: (what, done, total) => {
        if (!bars.has(what)) bars.set(what, progress(what));
        bars.get(what)!(done, total);
      },
      onPruned: (result) => {
        const { found, timings } = result, search = found.search, L = c.layers;
        const searchedLatency = (search as { latency?: { fraction: number } }).latency;
        console.log(`kept:    ${(search.fraction * 100).toFixed(1)}% of the encoder's MACs${searchedLatency ? '' : ` (limit ${(constraint * 100).toFixed(1)}%)`}` +
          (searchedLatency ? `, ${(searchedLatency.fraction * 100).toFixed(1)}% of its latency by the table (limit ${(constraint * 100).toFixed(1)}%)` : '') +
          `: ${search.heads} of ${L * c.heads} heads, ${search.neurons} of ${L * c.intermediate} neurons`);
        console.log(`layers:  heads ${countKept(result.masks.head).join(' ')}; neurons ${countKept(result.masks.neuron).join(' ')}`);
        console.log(`steps:   Fisher ${(timings.fisher / 1000).toFixed(1)} s (${found.fisher.perBatch ? 'per batch' : 'per example'}), search ${(timings.search / 1000).toFixed(2)} s, ` +
          `rearrangement ${(timings.rearrange / 1000).toFixed(2)} s (Fisher-block loss ${found.loss.before.toExponential(3)} → ${found.loss.after.toExponential(3)}), ` +
          `tuning ${tune ? `${(timings.tune / 1000).toFixed(1)} s` : 'off'}`);
        if (result.tuned) {
          const s = result.tuned.stopped;
          console.log(`tuning:  ${result.tuned.log.filter((e) => e.status === 'tuned').length} of ${result.tuned.log.length} sub-layers tuned` +
            (s ? `; stopped at layer ${s.layer} ${s.block === 'ffn' ? 'FFN' : 'attention'} (${s.reason}), the rest keep their binary masks` : ''));
        }
      },
    }, { files: !!values.out });
    pruned = job.pruned;
    const report = job.report as { dev?: Record<string, Record<string, unknown>>; size: { parametersBefore: number; parametersAfter: number; weightBytesBefore: number; weightBytesAfter?: number } };
    if (report.dev) {
      const full = report.dev.full as Record<string, number>;
      const rows: [string, Record<string, unknown>][] = [['after search', report.dev.afterSearch!], ['+ rearrangement', report.dev.afterRearrangement!],
        [tune ? '+ tuning (written model)' : 'written model', (report.dev.afterTuning ?? report.dev.prunedModel)!]];
      for (const [name, value] of Object.entries(full)) {
        console.log(`dev:     ${name.padEnd(16)} unpruned ${value.toFixed(4)}   ${rows.map(([n, r]) => `${n} ${(r.metrics as Record<string, number>)[name]!.toFixed(4)}`).join('   ')}`);
      }
      for (const [n, r] of rows) {
        const f = r as { agreement?: number; meanKL?: number; meanSquaredDifference?: number };
        console.log(`fidelity: ${n.padEnd(24)} ${f.agreement !== undefined ? `agreement ${f.agreement.toFixed(4)}` : ''}${f.meanKL !== undefined ? `, mean KL(unpruned ‖ pruned) ${f.meanKL.toFixed(4)} nats` : ''}${f.meanSquaredDifference !== undefined ? `mean squared difference ${f.meanSquaredDifference.toFixed(4)}` : ''}`);
      }
    }
    const l = job.latency;
    console.log(`latency: ${l.unpruned.medianMs.toFixed(2)} ms → ${l.pruned.medianMs.toFixed(2)} ms median for ${l.batch} x ${l.seq} tokens ` +
      `(${(l.pruned.medianMs / l.unpruned.medianMs).toFixed(3)} of the unpruned time)`);
    const size = report.size;
    console.log(`size:    ${(size.parametersBefore / 1e6).toFixed(2)} M → ${(size.parametersAfter / 1e6).toFixed(2)} M parameters; weights ${(size.weightBytesBefore / 2 ** 20).toFixed(1)} MiB` +
      (size.weightBytesAfter !== undefined ? ` → ${(size.weightBytesAfter / 2 ** 20).toFixed(1)} MiB (float32)` : ''));
    if (values.out && job.files) {
      await writeFolder(values.out, job.files, { force: values.force ?? false });
      console.log(`written: ${values.out} (${[...job.files.keys()].join(', ')})`);
    }
  } finally {
    pruned?.dispose();
    model.dispose();
    await closeRuntime(rt);
  }
}
