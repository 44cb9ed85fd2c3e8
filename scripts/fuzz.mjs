// The fuzz suite (test/fuzz/*.test.ts) at a chosen size: `npm test` runs it with a few
// thousand cases; this runs N cases per target with seed S (build first: node scripts/build.mjs).
//
//   node scripts/fuzz.mjs [--cases N] [--seed S] [--limit-ms MS] [--only TARGET:CASE] [FILE-SUBSTRING ...]
//
// A failing case prints how to run it again alone (WGPRUNE_FUZZ_ONLY=target:case).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'dist/test/node/fuzz');
let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: { cases: { type: 'string' }, seed: { type: 'string' }, 'limit-ms': { type: 'string' }, only: { type: 'string' }, help: { type: 'boolean' } },
  });
} catch (e) {
  console.error(`fuzz: ${e.message.split('\n')[0]}`);
  process.exit(2);
}
const { values, positionals } = parsed;
const usage = 'usage: node scripts/fuzz.mjs [--cases N] [--seed S] [--limit-ms MS] [--only TARGET:CASE] [FILE-SUBSTRING ...]';
if (values.help) { console.log(usage); process.exit(0); }
for (const flag of ['cases', 'seed', 'limit-ms']) {
  if (values[flag] !== undefined && !/^[0-9]+$/.test(values[flag])) {
    console.error(`fuzz: --${flag} must be a whole number, got "${values[flag]}"\n${usage}`);
    process.exit(2);
  }
}
if (!existsSync(dir)) {
  console.error('fuzz: no dist/test/node/fuzz: run node scripts/build.mjs first');
  process.exit(1);
}
const files = readdirSync(dir).filter((f) => f.endsWith('.test.js') && (!positionals.length || positionals.some((p) => f.includes(p)))).sort();
if (!files.length) {
  console.error(`fuzz: no fuzz file matches ${positionals.join(', ')}`);
  process.exit(1);
}
const env = { ...process.env };
if (values.cases) env.WGPRUNE_FUZZ_CASES = values.cases;
if (values.seed) env.WGPRUNE_FUZZ_SEED = values.seed;
if (values['limit-ms']) env.WGPRUNE_FUZZ_LIMIT_MS = values['limit-ms'];
if (values.only) env.WGPRUNE_FUZZ_ONLY = values.only;
let failed = 0;
for (const f of files) {
  console.log(`=== ${f}${values.cases ? `, ${values.cases} cases a target` : ''}${values.seed ? `, seed ${values.seed}` : ''}`);
  const r = spawnSync(process.execPath, ['--enable-source-maps', join(dir, f)], { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
console.log(failed ? `fuzz: ${failed} of ${files.length} files failed` : `fuzz: ${files.length} files passed`);
process.exitCode = failed ? 1 : 0;
