// Prunes the model that ships with wgprune (sst2-mini, a 4-layer BERT fine-tuned on SST-2)
// to 60% of its MACs from 64 training sentences, writes the smaller model to ./sst2-mini-pruned,
// then opens that folder again and compares it with the full model on 200 dev sentences.
//
//   npm install && node prune.mjs [--samples N] [--constraint C] [--dev N] [--out DIR]
import { parseArgs } from 'node:util';
import {
  averageSequenceLength, bundled, createRuntime, describeAdapter, evaluateGlue, fidelity, openModelFolder,
  pruneModel, prunedModelFiles, readGlueTsv, sampleBatches, writeFolder,
} from 'wgprune';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '64' }, constraint: { type: 'string', default: '0.6' }, dev: { type: 'string', default: '200' }, out: { type: 'string', default: 'sst2-mini-pruned' } } });
const rt = await createRuntime(); // Dawn; e.g. { dawnOptions: ['adapter=llvmpipe'] } to pick an adapter
console.log(`adapter: ${describeAdapter(rt.adapter)}`);
try {
  const full = await openModelFolder(rt, bundled.model);
  const { model, config, tokenizer } = full;
  const train = await readGlueTsv('sst2', bundled.samples);
  const dev = await readGlueTsv('sst2', bundled.dev);
  dev.examples.splice(Number(values.dev));

  const { batches, meanTokens } = sampleBatches(config, tokenizer, train, { count: Number(values.samples), seed: 0 });
  const result = await pruneModel(model, batches, full.configJson, {
    constraint: Number(values.constraint),
    // The cost model's sequence length: the reference code's for SST-2 (for other data, meanTokens).
    seqLen: averageSequenceLength['SST-2'] ?? meanTokens,
    onProgress: (step, done, total) => { if (done === total) console.log(`${step}: ${total} done`); },
  });
  const { search } = result.found;
  console.log(`kept: ${search.heads} of ${config.layers * config.heads} heads, ${search.neurons} of ${config.layers * config.intermediate} neurons ` +
    `(${(search.fraction * 100).toFixed(1)}% of the MACs)`);
  console.log(`per layer: heads ${result.checkpoint.config.wgprune_pruned.heads_kept.join(' ')}; neurons ${result.checkpoint.config.wgprune_pruned.intermediate_sizes.join(' ')}`);
  const s = (ms) => `${(ms / 1000).toFixed(1)} s`, t = result.timings;
  console.log(`steps: Fisher ${s(t.fisher)}, search ${s(t.search)}, rearrangement ${s(t.rearrange)}, tuning ${s(t.tune)}, export ${s(t.export)}`);

  await writeFolder(values.out, await prunedModelFiles(result.checkpoint, full.folder, { 'masks.json': result.masks }), { force: true });
  console.log(`written: ${values.out}/`);

  const pruned = await openModelFolder(rt, values.out);
  const t0 = performance.now();
  const a = await evaluateGlue(model, tokenizer, dev), b = await evaluateGlue(pruned.model, pruned.tokenizer, dev);
  const f = fidelity(a.logits, b.logits, config.numLabels);
  console.log(`dev (${dev.examples.length}): accuracy full ${a.metrics.accuracy.toFixed(4)}, pruned ${b.metrics.accuracy.toFixed(4)}; ` +
    `agreement ${f.agreement.toFixed(4)} (${s(performance.now() - t0)})`);
  model.dispose();
  pruned.model.dispose();
} finally {
  rt.destroy();
}
