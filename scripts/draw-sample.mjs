// node scripts/draw-sample.mjs TRAIN.tsv OUT.tsv [COUNT] [SEED]
// Draws COUNT rows (default 2,048) of a GLUE TSV at random, seeded (default 20221128), and
// writes them in their original order under the same header: how data/glue/SST-2/train-2048.tsv
// was made from the shared SST-2 train split (see data/PROVENANCE.md).
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output, countArg = '2048', seedArg = '20221128'] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node scripts/draw-sample.mjs TRAIN.tsv OUT.tsv [COUNT] [SEED]');
  process.exit(2);
}
const lines = readFileSync(input, 'utf8').split('\n');
const header = lines[0], rows = lines.slice(1).filter((l) => l.length);
// mulberry32, as src/data/batch.ts uses.
let a = Number(seedArg) >>> 0;
const rand = () => {
  a = (a + 0x6d2b79f5) >>> 0;
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const n = rows.length, count = Math.min(Number(countArg), n), order = Array.from({ length: n }, (_, i) => i);
for (let i = 0; i < count; i++) {
  const j = i + Math.floor(rand() * (n - i));
  [order[i], order[j]] = [order[j], order[i]];
}
const chosen = order.slice(0, count).sort((x, y) => x - y).map((i) => rows[i]);
writeFileSync(output, [header, ...chosen].join('\n') + '\n');
console.log(`${count} of ${n} rows written to ${output}`);
