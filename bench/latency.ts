// npm run bench -- --latency: are pruned models faster in proportion? For sst2-mini and for a
// BERT-base-shaped model with random weights (speed does not depend on the values), the
// measured forward latency of the unpruned model and of models pruned to 0.4 ... 0.7 of the
// MACs and of the latency (the latency table measured first on the same adapter), at each
// batch size, sequence length 128. Which units are kept does not change the speed either,
// so the importances are seeded random numbers: only the per-layer counts matter.
// The table is printed once everything is measured; progress goes to stderr. Loading
// sst2-mini is the caller's (`loadSst2Mini`): from the folder in Node (bench/run.ts), from
// the page's server in the browser (bench/browser.ts), so that this file imports no Node code.
import { parseConfig } from '../src/models/config.js';
import { EncoderModel } from '../src/models/model.js';
import { checkpointSource, prunedCheckpoint } from '../src/prune/export.js';
import { encoderMacs, headMacs, neuronMacs } from '../src/prune/flops.js';
import { forwardLatency, measureLut, searchByLatency } from '../src/prune/latency.js';
import { searchByFlops } from '../src/prune/search.js';
import { describeAdapter } from '../src/runtime/gpu.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { bertBase, randomSource } from './random-bert.js';

/** Loads sst2-mini: the model, and its config.json as read (for the pruned checkpoints). */
export type LoadSst2Mini = (rt: Runtime) => Promise<{ model: EncoderModel; json: Record<string, unknown> }>;

export interface LatencyOptions {
  batches?: number[];
  bigBatches?: number[];
  constraints?: number[];
  models?: string[];
  /** Needed when `models` holds sst2-mini. */
  loadSst2Mini?: LoadSst2Mini;
}

/** Prints, and returns, the adapter line and the markdown table. */
export async function benchLatency(rt: Runtime, { batches = [1, 32], bigBatches = [1], constraints = [0.4, 0.5, 0.6, 0.7], models = ['sst2-mini', 'bert-base'], loadSst2Mini }: LatencyOptions = {}): Promise<string> {
  const adapter = describeAdapter(rt.adapter);
  const rows = ['| model | batch x seq | metric | C | MACs kept | latency (ms) | ratio to unpruned | ratio / C |', '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const name of models) {
    if (name === 'sst2-mini' && !loadSst2Mini) throw new Error('benchLatency: sst2-mini needs loadSst2Mini');
    const { model, json } = name === 'sst2-mini'
      ? await loadSst2Mini!(rt)
      : { model: await EncoderModel.load(rt, parseConfig(bertBase), randomSource(bertBase)), json: bertBase as Record<string, unknown> };
    const c = model.config, L = c.layers;
    const shape = { layers: L, heads: c.heads, hidden: c.hidden, intermediate: c.intermediate, seqLen: 128 };
    let s = 7;
    const rand = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
    // Importance per MAC alike for heads and neurons, so the search prunes both, as it does on
    // trained models, rather than keeping whichever unit is cheaper.
    const perHead = headMacs(shape) / neuronMacs(shape);
    const hi = Array.from({ length: L * c.heads }, () => rand() * perHead), ni = Array.from({ length: L * c.intermediate }, rand);
    for (const batch of name === 'sst2-mini' ? batches : bigBatches) {
      const timing = batch * c.hidden > 8192 ? { warmup: 1, minRuns: 3, minMs: 0 } : { minRuns: 9, minMs: 1000 };
      // The unpruned model is timed before and after the pruned ones: a shared machine's
      // slow spell shows as a gap between the two, and the ratios use their mean.
      const before = await forwardLatency(model, { batch, seq: 128 }, timing);
      const pending: { label: string; ms: number; macs: string }[] = [];
      console.error(`${name} ${batch}x128 unpruned: ${before.medianMs.toFixed(1)} ms; measuring the latency table`);
      const t0 = performance.now();
      const lut = await measureLut(rt, { hidden: c.hidden, heads: c.heads, intermediate: c.intermediate, batch, seq: 128 }, { timing });
      console.error(`  table measured in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      for (const metric of ['flops', 'latency'] as const) {
        for (const C of constraints) {
          const r = metric === 'flops' ? searchByFlops(hi, ni, shape, C) : searchByLatency(hi, ni, shape, lut, C);
          const masks = { head: r.headMask.map((l) => Array.from(l)), neuron: r.neuronMask.map((l) => Array.from(l)) };
          const { config, source } = checkpointSource('pruned', await prunedCheckpoint(model, json, masks));
          const pruned = await EncoderModel.load(rt, config, source);
          const t = await forwardLatency(pruned, { batch, seq: 128 }, timing);
          pruned.dispose();
          pending.push({ label: `${metric === 'flops' ? 'MACs' : 'latency'} | ${C}`, ms: t.medianMs, macs: `${(100 * r.macs / encoderMacs(shape)).toFixed(1)}%` });
          console.error(`  ${metric} ${C}: ${t.medianMs.toFixed(1)} ms (${(t.medianMs / before.medianMs).toFixed(3)} of the first unpruned time)`);
        }
      }
      const after = await forwardLatency(model, { batch, seq: 128 }, timing);
      const full = (before.medianMs + after.medianMs) / 2;
      rows.push(`| ${name} | ${batch} x 128 | unpruned | 1 | 100% | ${full.toFixed(1)} (${before.medianMs.toFixed(1)} before, ${after.medianMs.toFixed(1)} after) | 1.000 | |`);
      for (const p of pending) {
        const C = Number(p.label.split('| ')[1]), ratio = p.ms / full;
        rows.push(`| ${name} | ${batch} x 128 | ${p.label} | ${p.macs} | ${p.ms.toFixed(1)} | ${ratio.toFixed(3)} | ${(ratio / C).toFixed(2)} |`);
      }
    }
    model.dispose();
  }
  const out = `adapter: ${adapter}\n${rows.join('\n')}`;
  console.log(out);
  return out;
}
