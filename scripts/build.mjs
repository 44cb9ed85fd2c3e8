// Bundles the CLI, the benchmarks and the tests with esbuild: once for Node (packages
// stay external) and once for the browser (the tests, and the benchmark page that
// scripts/bench-browser.mjs serves; Dawn's binding stays out). Also the package's two
// library entries, dist/index.js (Node) and dist/browser.js (bundlers for the browser),
// and their declarations in dist/types (tsc, tsconfig.types.json), which `npm pack` ships.
import { spawn } from 'node:child_process';
import { build } from 'esbuild';
import { chmodSync, readdirSync, rmSync, statSync } from 'node:fs';
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

/** The declarations, by tsc in a child process, alongside esbuild; rejects with tsc's output. */
function declarations() {
  return new Promise((resolve, reject) => {
    const tsc = spawn(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.types.json')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    tsc.stdout.on('data', (d) => { text += d; });
    tsc.stderr.on('data', (d) => { text += d; });
    tsc.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tsc -p tsconfig.types.json failed (exit ${code}):\n${text}`))));
  });
}

// What the package ships: no inline source map (it would hold the sources), no Node
// built-in or Dawn in the browser entry (esbuild fails on a static `node:` import there).
const shipped = { ...common, sourcemap: false, packages: 'external' };

rmSync(join(root, 'dist'), { recursive: true, force: true });
await Promise.all([
  build({
    ...common,
    platform: 'node',
    packages: 'external',
    outdir: join(root, 'dist'),
    entryPoints: {
      'bench/run': join(root, 'bench/run.ts'), 'bench/report': join(root, 'bench/report.ts'),
      ...entries(tests, 'test/node'),
    },
    banner: { js: '#!/usr/bin/env node' },
  }),
  build({ ...shipped, platform: 'node', outdir: join(root, 'dist'), entryPoints: { cli: join(root, 'src/cli/main.ts') }, banner: { js: '#!/usr/bin/env node' } }),
  build({ ...shipped, platform: 'node', outdir: join(root, 'dist'), entryPoints: { index: join(root, 'src/index.ts') } }),
  build({ ...shipped, platform: 'browser', outdir: join(root, 'dist'), entryPoints: { browser: join(root, 'src/browser.ts') } }),
  declarations(),
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
// `bin` runs dist/cli.js itself (npx wgprune, npm link): it needs the run bit.
chmodSync(join(root, 'dist/cli.js'), 0o755);
