import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { forwardLatency, measureLut, parseLut, type LatencyLut } from '../prune/latency.js';
import { describeAdapter } from '../runtime/gpu.js';
import { UsageError, WgpruneError } from '../runtime/errors.js';
import { checkOutputFolder } from '../io/node.js';
import { bundledModel, openModel, positiveInt, progress, writeAtomically, closeRuntime } from './common.js';

export const latencyHelp = `usage: wgprune latency [--model DIR] [--batch B] [--seq S] [--json] [--adapter NAME]

The wall time of a forward pass (task head included) on random inputs of B sequences of S
tokens: the median over repeated runs, with min and max, on this machine's adapter. Works on
any model eval loads, pruned or not.

  --model DIR     Hugging Face folder (default: the bundled sst2-mini)
  --batch B       sequences (default 1)
  --seq S         tokens per sequence (default 128)
  --json          print the result as JSON
  --adapter NAME  Dawn adapter (e.g. llvmpipe)`;

export async function latencyCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { model: { type: 'string' }, batch: { type: 'string' }, seq: { type: 'string' }, json: { type: 'boolean' }, adapter: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) { console.log(latencyHelp); return; }
  const batch = positiveInt(values.batch, '--batch', 1), seq = positiveInt(values.seq, '--seq', 128);
  const dir = values.model ?? bundledModel;
  const { rt, model } = await openModel(dir, values.adapter ? [`adapter=${values.adapter}`] : []);
  try {
    const t = await forwardLatency(model, { batch, seq });
    const result = { adapter: describeAdapter(rt.adapter), model: dir, batch, seq, layers: model.layerSizes, ...t };
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else console.log(`latency: ${t.medianMs.toFixed(2)} ms median (min ${t.minMs.toFixed(2)}, max ${t.maxMs.toFixed(2)}, ${t.runs} runs) for ${batch} x ${seq} tokens on ${result.adapter}`);
  } finally {
    model.dispose();
    await closeRuntime(rt);
  }
}

export const lutHelp = `usage: wgprune lut --out lut.json [--model DIR] [--batch B] [--seq S] [--ffn-step N] [--adapter NAME]

Measures a latency lookup table on this machine's adapter for a model's shape: the latency
of one attention block against the heads it keeps (0 ... A) and of one FFN against the
neurons it keeps (0 ... I every --ffn-step; default I/32, or I/16 on a software adapter,
where each measurement is slower), and the piecewise-linear fit of each (flat up to a
threshold, then linear, as the reference code). \`wgprune prune --metric latency --lut\` uses it.

  --out FILE      where to write the table (JSON; an existing file is replaced)
  --model DIR     whose shape to measure (default: the bundled sst2-mini)
  --batch B       sequences (default 1)
  --seq S         tokens per sequence (default 128)
  --ffn-step N    neurons between FFN measurements
  --adapter NAME  Dawn adapter (e.g. llvmpipe)`;

/** Measures a table for an opened model's shape, with progress on stderr. */
export async function measureLutFor(rt: Parameters<typeof measureLut>[0], config: { hidden: number; heads: number; intermediate: number }, batch: number, seq: number, ffnStep?: number): Promise<LatencyLut> {
  return measureLut(rt, { hidden: config.hidden, heads: config.heads, intermediate: config.intermediate, batch, seq },
    { ...(ffnStep ? { ffnStep } : {}), onProgress: progress('block sizes (latency table)') });
}

export async function lutCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { model: { type: 'string' }, batch: { type: 'string' }, seq: { type: 'string' }, out: { type: 'string' }, 'ffn-step': { type: 'string' }, adapter: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) { console.log(lutHelp); return; }
  if (!values.out) throw new UsageError(`--out is required\n\n${lutHelp}`);
  const batch = positiveInt(values.batch, '--batch', 1), seq = positiveInt(values.seq, '--seq', 128);
  const ffnStep = values['ffn-step'] === undefined ? undefined : positiveInt(values['ffn-step'], '--ffn-step', 1);
  const dir = values.model ?? bundledModel;
  await checkOutputFolder(values.out, { force: true, inputs: [dir] }).catch((e: Error) => {
    if (/not a folder/.test(e.message)) return; // an existing file is replaced
    throw e;
  });
  const { rt, model } = await openModel(dir, values.adapter ? [`adapter=${values.adapter}`] : []);
  try {
    const t0 = performance.now();
    const lut = await measureLutFor(rt, model.config, batch, seq, ffnStep);
    await writeAtomically(values.out, JSON.stringify(lut, null, 2) + '\n');
    const f = lut.fit;
    console.log(`lut: ${lut.attention.length} attention and ${lut.ffn.length} FFN sizes measured in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${lut.adapter}, ${batch} x ${seq} tokens`);
    console.log(`  attention: ${f.attention.constant.toFixed(3)} ms up to ${f.attention.threshold} heads, then ${f.attention.slope.toFixed(4)} ms a head (none: ${f.attention.zero.toFixed(3)} ms)`);
    console.log(`  FFN:       ${f.ffn.constant.toFixed(3)} ms up to ${f.ffn.threshold} neurons, then ${f.ffn.slope.toFixed(5)} ms a neuron (none: ${f.ffn.zero.toFixed(3)} ms)`);
    console.log(`written: ${values.out}`);
  } finally {
    model.dispose();
    await closeRuntime(rt);
  }
}

/** Reads a table from a file. */
export async function readLut(file: string): Promise<LatencyLut> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new WgpruneError(`${file}: cannot read the latency table: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WgpruneError(`${file}: not JSON; make a latency table with \`wgprune lut\``);
  }
  return parseLut(json, file);
}
