// npm run bench -- --prune: the pruning pipeline on the bundled sst2-mini with the bundled
// 2,048 SST-2 training sentences: the wall time of each step, then, from the same Fisher
// pass, the table of the README: for each constraint, dev accuracy, agreement and mean KL
// to the unpruned model after the search, after the rearrangement, after tuning, and for
// random masks with the same per-layer counts (seeded).
import { readGlueTsv } from '../src/data/files.js';
import { seededRandom } from '../src/data/batch.js';
import { fidelity } from '../src/eval/fidelity.js';
import { evaluateGlue } from '../src/eval/task.js';
import { openModel } from '../src/cli/common.js';
import { prunedCheckpoint } from '../src/prune/export.js';
import { fisherInformation } from '../src/prune/fisher.js';
import { averageSequenceLength } from '../src/prune/flops.js';
import { masksFromFisher } from '../src/prune/masks.js';
import { sampleBatches } from '../src/prune/samples.js';
import { tuneMasks, type Masks } from '../src/prune/tune.js';
import { describeAdapter } from '../src/runtime/gpu.js';

/** Random masks with each layer's counts of `like`: a seeded choice of which units. */
function randomLike(like: Masks, seed: number): Masks {
  const rand = seededRandom(seed);
  const pick = (l: number[]) => {
    const order = l.map((_, i) => i).sort(() => rand() - 0.5);
    const keep = new Set(order.slice(0, l.filter((v) => v !== 0).length));
    return l.map((_, i) => (keep.has(i) ? 1 : 0));
  };
  return { head: like.head.map(pick), neuron: like.neuron.map(pick) };
}

// The bench runs from the repository root (npm run bench).
const bundledModel = 'models/sst2-mini', bundledSamples = 'data/glue/SST-2/train-2048.tsv', bundledData = 'data/glue/SST-2/dev.tsv';

export async function benchPrune({ constraints = [0.4, 0.5, 0.6], sampleCount = 2048, devLimit }: { constraints?: number[]; sampleCount?: number; devLimit?: number } = {}): Promise<void> {
  const { rt, model, tokenizer, configJson } = await openModel(bundledModel);
  try {
    console.log(`adapter: ${describeAdapter(rt.adapter)}`);
    const c = model.config, L = c.layers;
    const samples = await readGlueTsv('sst2', bundledSamples);
    const dev = await readGlueTsv('sst2', bundledData);
    if (devLimit) dev.examples.splice(devLimit);
    let t0 = performance.now();
    const { batches } = sampleBatches(c, tokenizer, samples, { count: sampleCount, seed: 0 });
    const tSample = performance.now() - t0;
    t0 = performance.now();
    const fisher = await fisherInformation(model, batches, { grams: true });
    const tFisher = performance.now() - t0;
    const shape = { layers: L, heads: c.heads, hidden: c.hidden, intermediate: c.intermediate, seqLen: averageSequenceLength['SST-2']! };
    const full = await evaluateGlue(model, tokenizer, dev, {});
    console.log(`sst2-mini, ${batches.reduce((s, b) => s + b.tokens.batch, 0)} samples in ${batches.length} batches; dev ${dev.examples.length} sentences, unpruned accuracy ${full.metrics.accuracy!.toFixed(4)}`);
    console.log(`steps (wall time): sampling ${(tSample / 1000).toFixed(2)} s, Fisher with Gram matrices ${(tFisher / 1000).toFixed(1)} s`);
    const rows: string[] = ['| constraint | masks | heads | neurons | accuracy | agreement | mean KL (nats) |', '| ---: | --- | ---: | ---: | ---: | ---: | ---: |'];
    for (const constraint of constraints) {
      const found = masksFromFisher(fisher, shape, constraint);
      t0 = performance.now();
      const rearranged = { head: found.head, neuron: found.neuron };
      const tuned = await tuneMasks(model, batches, rearranged, { firstTokenOnly: true });
      const tTune = performance.now() - t0;
      t0 = performance.now();
      await prunedCheckpoint(model, configJson, tuned);
      const tExport = performance.now() - t0;
      console.log(`constraint ${constraint}: search ${(found.timings.search / 1000).toFixed(3)} s, rearrangement ${(found.timings.rearrange / 1000).toFixed(3)} s, ` +
        `tuning ${(tTune / 1000).toFixed(1)} s (${tuned.log.filter((e) => e.status === 'tuned').length} sub-layers tuned${tuned.stopped ? `, stopped at layer ${tuned.stopped.layer} ${tuned.stopped.block}: ${tuned.stopped.reason}` : ''}), export ${(tExport / 1000).toFixed(2)} s`);
      const variants: [string, Masks][] = [
        ['search', { head: found.search.headMask.map((l) => Array.from(l)), neuron: found.search.neuronMask.map((l) => Array.from(l)) }],
        ['+ rearrangement', rearranged],
        ['+ tuning', tuned],
        ['random, same counts', randomLike(rearranged, 1)],
      ];
      for (const [name, masks] of variants) {
        const r = await evaluateGlue(model, tokenizer, dev, { masks });
        const f = fidelity(full.logits, r.logits, c.numLabels) as { agreement: number; meanKL: number };
        const count = (m: number[][]) => m.flat().filter((v) => v !== 0).length;
        rows.push(`| ${constraint} | ${name} | ${count(masks.head)} | ${count(masks.neuron)} | ${r.metrics.accuracy!.toFixed(4)} | ${(f.agreement * 100).toFixed(2)}% | ${f.meanKL.toFixed(4)} |`);
      }
    }
    console.log(rows.join('\n'));
  } finally {
    model.dispose();
    rt.destroy();
  }
}
