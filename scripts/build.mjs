// Bundles the CLI, the benchmarks and the tests with esbuild: once for Node (packages
// stay external) and once for the browser (the tests, and the benchmark page that
// scripts/bench-browser.mjs serves; Dawn's binding stays out).
import { build } from 'esbuild';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function find(dir, suffix) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p, suffix));
    else if (p.endsWith(suffix)) out.push(p);
  }
  return out.sort();
}

const tests = find(join(root, 'test'), '.test.ts');
const common = { bundle: true, format: 'esm', sourcemap: 'inline', target: 'es2022', logLevel: 'warning', absWorkingDir: root };
const entries = (files, prefix) => Object.fromEntries(files.map((f) => [join(prefix, relative(join(root, 'test'), f).replace(/\.ts$/, '')), f]));

rmSync(join(root, 'dist'), { recursive: true, force: true });
await Promise.all([
  build({
    ...common,
    platform: 'node',
    packages: 'external',
    outdir: join(root, 'dist'),
    entryPoints: {
      cli: join(root, 'src/cli/main.ts'), 'bench/run': join(root, 'bench/run.ts'), 'bench/report': join(root, 'bench/report.ts'),
      ...entries(tests, 'test/node'),
    },
    banner: { js: '#!/usr/bin/env node' },
  }),
  build({
    ...common,
    platform: 'browser',
    // Node-only modules are imported dynamically behind a check, so they may stay unresolved.
    external: ['webgpu', 'node:*'],
    outdir: join(root, 'dist'),
    entryPoints: entries(tests, 'test/browser'),
  }),
  // wgprune, tfjs and ONNX Runtime Web in one page; ORT's .wasm files are served from
  // node_modules. A linked source map: an inline one would triple the bundle.
  build({
    ...common,
    sourcemap: 'linked',
    platform: 'browser',
    external: ['webgpu'],
    outdir: join(root, 'dist/bench/browser'),
    entryPoints: { bench: join(root, 'bench/browser.ts') },
  }),
]);
