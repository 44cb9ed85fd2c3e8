import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { readGlueTsv, readSquadJson } from '../data/files.js';
import type { GlueData, GlueTask } from '../data/glue.js';
import type { SquadData } from '../data/squad.js';
import { fidelity } from '../eval/fidelity.js';
import { evaluateGlue, evaluateSquad } from '../eval/task.js';
import { checkOutputFolder, directoryFolder, writeFolder } from '../io/node.js';
import type { Tokenizer } from '../io/tokenizer.js';
import { EncoderModel } from '../models/model.js';
import { canonicalTensors } from '../models/weights.js';
import { checkpointSource, prunedModelFiles } from '../prune/export.js';
import { averageSequenceLength, encoderMacs } from '../prune/flops.js';
import { pruneModel, type PruneResult } from '../prune/pipeline.js';
import { sampleBatches, sampleSquadBatches } from '../prune/samples.js';
import type { Masks } from '../prune/tune.js';
import { describeAdapter } from '../runtime/gpu.js';
import { UsageError, WgpruneError } from '../runtime/errors.js';
import { bundledModel, openModel, positiveInt, progress } from './common.js';
import { taskOption } from './checks.js';
import { measureLutFor, readLut } from './latency.js';
import { forwardLatency, lutMismatch, type LatencyLut, type Timing } from '../prune/latency.js';

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
  --adapter NAME      Dawn adapter (e.g. llvmpipe)`;

/** The reference code's task names in averageSequenceLength. */
const referenceName: Partial<Record<string, string>> = { sst2: 'SST-2', mrpc: 'MRPC', stsb: 'STS-B', qnli: 'QNLI', qqp: 'QQP', mnli: 'MNLI', squad: 'SQuAD', 'squad-v2': 'SQuAD' };

/** Bytes of a model folder's weight files. */
async function weightBytes(dir: string): Promise<number> {
  const folder = await directoryFolder(dir);
  let bytes = 0;
  for (const f of folder.files) if (/\.safetensors$|^pytorch_model.*\.bin$/.test(f)) bytes += (await stat(`${dir}/${f}`)).size;
  return bytes;
}

const count = (masks: number[][]) => masks.map((l) => l.filter((v) => v !== 0).length);
const round = (x: number, digits = 6) => Number(x.toPrecision(digits));

/** Scores of one model (or masks) on the dev set, and how closely it follows the unpruned model. */
type Scorer = (what: string, target: { masks: Masks } | { model: EncoderModel }) => Promise<Record<string, unknown>>;

function glueScorer(model: EncoderModel, tokenizer: Tokenizer, dev: GlueData, batchSize: number, maxLength: number): { full: () => Promise<Record<string, number>>; score: Scorer } {
  let fullLogits: Float32Array | undefined;
  return {
    full: async () => {
      const r = await evaluateGlue(model, tokenizer, dev, { batchSize, maxLength, onProgress: progress('dev examples (unpruned)') });
      fullLogits = r.logits;
      return r.metrics;
    },
    score: async (what, target) => {
      const r = 'masks' in target
        ? await evaluateGlue(model, tokenizer, dev, { batchSize, maxLength, masks: target.masks, onProgress: progress(`dev examples (${what})`) })
        : await evaluateGlue(target.model, tokenizer, dev, { batchSize, maxLength, onProgress: progress(`dev examples (${what})`) });
      const f = fidelity(fullLogits!, r.logits, model.config.numLabels);
      return { metrics: r.metrics, ...Object.fromEntries(Object.entries(f).map(([k, v]) => [k, round(v)])) };
    },
  };
}

function squadScorer(model: EncoderModel, tokenizer: Tokenizer, dev: SquadData, v2: boolean, batchSize: number, maxLength: number, docStride: number): { full: () => Promise<Record<string, number>>; score: Scorer } {
  let fullAnswers: Map<string, { text: string }> | undefined;
  const opts = (what: string) => ({ batchSize, maxLength, docStride, onProgress: progress(`dev features (${what})`) });
  return {
    full: async () => {
      const r = await evaluateSquad(model, tokenizer, dev, v2, opts('unpruned'));
      fullAnswers = r.predictions;
      return r.metrics;
    },
    score: async (what, target) => {
      const r = 'masks' in target
        ? await evaluateSquad(model, tokenizer, dev, v2, { ...opts(what), masks: target.masks })
        : await evaluateSquad(target.model, tokenizer, dev, v2, opts(what));
      let same = 0;
      for (const [id, p] of r.predictions) if (fullAnswers!.get(id)?.text === p.text) same++;
      // For spans, agreement is the share of questions answered with the same text.
      return { metrics: r.metrics, agreement: round(same / Math.max(1, r.predictions.size)) };
    },
  };
}

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
    if (squad !== (c.head === 'question-answering')) {
      throw new WgpruneError(`${task} needs a ${squad ? 'question-answering' : 'sequence-classification'} model, but ${modelDir} is ${c.architecture}`);
    }
    if (model.layerSizes.some((l) => l.heads !== c.heads || l.neurons !== c.intermediate)) {
      throw new WgpruneError(`${modelDir} is already physically pruned; prune the unpruned model`);
    }
    const { batches, meanTokens } = squad
      ? sampleSquadBatches(c, tokenizer, squadSamples!, { count: sampleCount, batchSize, maxSeqLength: maxLength, docStride, seed })
      : sampleBatches(c, tokenizer, glueSamples!, { count: sampleCount, batchSize, maxLength, seed });
    const seqLen = seqLenFlag ?? (referenceName[task] ? averageSequenceLength[referenceName[task]!]! : meanTokens);
    const examples = batches.reduce((s, b) => s + b.tokens.batch, 0);
    const drawnFrom = squad ? squadSamples!.examples.length : glueSamples!.examples.length;
    console.log(`samples: ${examples} ${squad ? 'features' : 'examples'} from ${drawnFrom} in ${batches.length} batches (seed ${seed}); cost model at ${seqLen.toFixed(2)} tokens`);

    let lut: LatencyLut | undefined;
    if (metric === 'latency') {
      const adapter = describeAdapter(rt.adapter);
      if (lutFile) {
        const why = lutMismatch(lutFile, adapter, { hidden: c.hidden, heads: c.heads, intermediate: c.intermediate });
        if (why && !values['force-lut']) throw new WgpruneError(`--lut ${values.lut}: ${why}; measure one here with \`wgprune lut --model ${modelDir} --out lut.json\`, or pass --force-lut to use it anyway`);
        if (why) console.error(`warning: --lut ${values.lut}: ${why}; used anyway (--force-lut)`);
        lut = lutFile;
      } else {
        const t0 = performance.now();
        console.log('latency: no --lut given; measuring a latency table on this adapter first (batch 1, 128 tokens)');
        lut = await measureLutFor(rt, c, 1, Math.min(128, c.maxPositions - (c.modelType === 'roberta' ? c.padTokenId + 1 : 0)));
        console.log(`latency: table measured in ${((performance.now() - t0) / 1000).toFixed(1)} s (save one with \`wgprune lut\` to reuse it)`);
      }
    }
    const result: PruneResult = await pruneModel(model, batches, configJson, {
      ...(lut ? { lut } : {}),
      constraint, seqLen, perBatch: values['per-batch'] ?? false, tune, damping, teacher, tuneFirstAttention: values['tune-first-attention'] ?? false,
      onProgress: (() => {
        const bars = { fisher: progress('batches (Fisher)'), tune: progress('sub-layers (tuning)') };
        return (step, done, total) => bars[step](done, total);
      })(),
    });
    const { found, timings } = result, search = found.search, L = c.layers;
    const heads = count(result.masks.head), neurons = count(result.masks.neuron);
    const searchedLatency = (search as { latency?: { ms: number; fullMs: number; fraction: number } }).latency;
    console.log(`kept:    ${(search.fraction * 100).toFixed(1)}% of the encoder's MACs${lut ? '' : ` (limit ${(constraint * 100).toFixed(1)}%)`}` +
      (searchedLatency ? `, ${(searchedLatency.fraction * 100).toFixed(1)}% of its latency by the table (limit ${(constraint * 100).toFixed(1)}%)` : '') +
      `: ${search.heads} of ${L * c.heads} heads, ${search.neurons} of ${L * c.intermediate} neurons`);
    console.log(`layers:  heads ${heads.join(' ')}; neurons ${neurons.join(' ')}`);
    console.log(`steps:   Fisher ${(timings.fisher / 1000).toFixed(1)} s (${found.fisher.perBatch ? 'per batch' : 'per example'}), search ${(timings.search / 1000).toFixed(2)} s, ` +
      `rearrangement ${(timings.rearrange / 1000).toFixed(2)} s (Fisher-block loss ${found.loss.before.toExponential(3)} → ${found.loss.after.toExponential(3)}), ` +
      `tuning ${tune ? `${(timings.tune / 1000).toFixed(1)} s` : 'off'}`);
    if (result.tuned) {
      const tuned = result.tuned.log.filter((e) => e.status === 'tuned').length;
      const s = result.tuned.stopped;
      console.log(`tuning:  ${tuned} of ${result.tuned.log.length} sub-layers tuned` +
        (s ? `; stopped at layer ${s.layer} ${s.block === 'ffn' ? 'FFN' : 'attention'} (${s.reason}), the rest keep their binary masks` : ''));
    }

    // Sizes: parameters and weight bytes before and after.
    let paramsBefore = 0;
    const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
    const source = checkpointSource(values.out ?? 'pruned model', result.checkpoint);
    for (const shape of canonicalTensors(c).values()) paramsBefore += sizeOf(shape);
    let paramsAfter = 0;
    for (const t of result.checkpoint.tensors.values()) paramsAfter += t.data.length;

    let dev: Record<string, unknown> | undefined;
    if (glueDev || squadDev) {
      const scorer = glueDev ? glueScorer(model, tokenizer, glueDev, batchSize, maxLength) : squadScorer(model, tokenizer, squadDev!, task === 'squad-v2', batchSize, maxLength, docStride);
      const full = await scorer.full();
      const afterSearch = await scorer.score('after search', { masks: result.searched });
      const afterRearrangement = await scorer.score('after rearrangement', { masks: result.rearranged });
      pruned = await EncoderModel.load(rt, source.config, source.source);
      const prunedScores = await scorer.score(tune ? 'pruned model, tuned' : 'pruned model', { model: pruned });
      dev = { examples: (glueDev ?? squadDev)!.examples.length, full, afterSearch, afterRearrangement, [tune ? 'afterTuning' : 'prunedModel']: prunedScores };
      const rows: [string, Record<string, unknown>][] = [['after search', afterSearch], ['+ rearrangement', afterRearrangement], [tune ? '+ tuning (written model)' : 'written model', prunedScores]];
      for (const [name, value] of Object.entries(full)) {
        console.log(`dev:     ${name.padEnd(16)} unpruned ${value.toFixed(4)}   ${rows.map(([n, r]) => `${n} ${(r.metrics as Record<string, number>)[name]!.toFixed(4)}`).join('   ')}`);
      }
      for (const [n, r] of rows) {
        const f = r as { agreement?: number; meanKL?: number; meanSquaredDifference?: number };
        console.log(`fidelity: ${n.padEnd(24)} ${f.agreement !== undefined ? `agreement ${f.agreement.toFixed(4)}` : ''}${f.meanKL !== undefined ? `, mean KL(unpruned ‖ pruned) ${f.meanKL.toFixed(4)} nats` : ''}${f.meanSquaredDifference !== undefined ? `mean squared difference ${f.meanSquaredDifference.toFixed(4)}` : ''}`);
      }
    }

    // The unpruned and the pruned model's measured latency, at the table's shape (batch 1, 128 tokens without one).
    const latencyShape = lut ? { batch: lut.shape.batch, seq: lut.shape.seq } : { batch: 1, seq: Math.min(128, c.maxPositions - (c.modelType === 'roberta' ? c.padTokenId + 1 : 0)) };
    pruned ??= await EncoderModel.load(rt, source.config, source.source);
    const latency: { unpruned: Timing; pruned: Timing } = { unpruned: await forwardLatency(model, latencyShape), pruned: await forwardLatency(pruned, latencyShape) };
    console.log(`latency: ${latency.unpruned.medianMs.toFixed(2)} ms → ${latency.pruned.medianMs.toFixed(2)} ms median for ${latencyShape.batch} x ${latencyShape.seq} tokens ` +
      `(${(latency.pruned.medianMs / latency.unpruned.medianMs).toFixed(3)} of the unpruned time)`);
    const files = values.out ? await prunedModelFiles(result.checkpoint, await directoryFolder(modelDir)) : undefined;
    const safetensorsBytes = files ? files.get('model.safetensors')!.reduce((s, b) => s + b.length, 0) : undefined;
    const bytesBefore = await weightBytes(modelDir);
    const shape = { layers: L, heads: c.heads, hidden: c.hidden, intermediate: c.intermediate, seqLen };
    const report = {
      adapter: describeAdapter(rt.adapter),
      model: { path: modelDir, architecture: c.architecture, layers: L, hidden: c.hidden, heads: c.heads, intermediate: c.intermediate, format },
      task, constraint,
      samples: { file: values.samples, drawnFrom, examples, batches: batches.length, seed, batchSize, maxLength, ...(squad ? { docStride } : {}) },
      fisher: found.fisher.perBatch ? 'per batch' : 'per example',
      metric,
      costModel: { seqLen, macsFull: encoderMacs(shape), macsKept: search.macs, fraction: round(search.fraction) },
      ...(lut ? { latencyTable: { adapter: lut.adapter, shape: lut.shape, fit: lut.fit, ...(values.lut ? { file: values.lut } : { measured: true }), predicted: searchedLatency } } : {}),
      latency: { ...latencyShape, unprunedMs: round(latency.unpruned.medianMs, 4), prunedMs: round(latency.pruned.medianMs, 4), ratio: round(latency.pruned.medianMs / latency.unpruned.medianMs, 4), unpruned: latency.unpruned, pruned: latency.pruned },
      kept: { heads: search.heads, neurons: search.neurons, headsPerLayer: heads, neuronsPerLayer: neurons },
      seconds: Object.fromEntries(Object.entries({ ...timings, total: performance.now() - started }).map(([k, v]) => [k, round(v / 1000, 4)])),
      size: { parametersBefore: paramsBefore, parametersAfter: paramsAfter, weightBytesBefore: bytesBefore, ...(safetensorsBytes !== undefined ? { weightBytesAfter: safetensorsBytes } : {}) },
      tuning: result.tuned
        ? { teacher, damping, firstAttention: values['tune-first-attention'] ?? false, log: result.tuned.log.map((e) => ({ ...e, ms: Math.round(e.ms) })), ...(result.tuned.stopped ? { stopped: result.tuned.stopped } : {}) }
        : 'off',
      ...(dev ? { dev } : {}),
    };
    console.log(`size:    ${(paramsBefore / 1e6).toFixed(2)} M → ${(paramsAfter / 1e6).toFixed(2)} M parameters; weights ${(bytesBefore / 2 ** 20).toFixed(1)} MiB` +
      (safetensorsBytes !== undefined ? ` → ${(safetensorsBytes / 2 ** 20).toFixed(1)} MiB (float32)` : ''));
    if (values.out && files) {
      const enc = new TextEncoder();
      files.set('masks.json', [enc.encode(JSON.stringify({ constraint, head: result.masks.head, neuron: result.masks.neuron }) + '\n')]);
      files.set('report.json', [enc.encode(JSON.stringify(report, null, 2) + '\n')]);
      await writeFolder(values.out, files, { force: values.force ?? false });
      console.log(`written: ${values.out} (${[...files.keys()].join(', ')})`);
    }
  } finally {
    pruned?.dispose();
    model.dispose();
    rt.destroy();
  }
}
