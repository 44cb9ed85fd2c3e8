// The package as a user gets it: `npm pack`, installed into fresh projects (examples/node and
// examples/browser, copied to a temporary folder), its CLI, its Node entry running the Node
// example, its browser entry bundled by esbuild and run in headless Chromium, and its
// declarations type-checked by tsc. Node only; needs `node scripts/build.mjs` first (npm test
// does it). Offline: the install takes the dependencies' tarballs from the npm cache, by the
// integrity that package-lock.json records (the project's own `npm ci` put them there).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { skip } from '../helpers/gpu.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

// Computed specifiers: the browser build of this file (which only skips) leaves them alone.
const load = <T>(name: string) => import(/* @vite-ignore */ name) as Promise<T>;
type Fs = typeof import('node:fs/promises');
type Path = typeof import('node:path');
type ChildProcess = typeof import('node:child_process');

/** What the Node entry exports: the public API. Anything else is internal and stays out. */
const nodeApi = [
  'CheckpointError', 'DataError', 'DeviceLostError', 'GLUE_TASKS', 'ModelError', 'NoAdapterError', 'ShapeError', 'TokenizerError',
  'UnsupportedCheckpointError', 'WeightsNotFoundError', 'WgpruneError', 'averageSequenceLength', 'bundled', 'createRuntime',
  'defaultTuningFile', 'describeAdapter', 'evaluateGlue', 'evaluateSquad', 'fidelity', 'fileTuningCache', 'filesToBlobs', 'findMasks',
  'memoryTuningCache', 'modelWorkload', 'openModelFiles', 'openModelFolder',
  'parseGlueTsv', 'parseSquadJson', 'pruneModel', 'prunedCheckpoint', 'prunedModelFiles', 'readGlueTsv', 'readSquadJson',
  'sampleBatches', 'sampleSquadBatches', 'tuneKernels', 'tuneMasks', 'writeFolder',
];
/** The browser entry: the same less what needs Node (paths, folders, the bundled files' locations, the tuning cache file). */
const browserApi = nodeApi.filter((k) => !['bundled', 'defaultTuningFile', 'fileTuningCache', 'openModelFolder', 'readGlueTsv', 'readSquadJson', 'writeFolder'].includes(k));

interface Ran { code: number | null; stdout: string; stderr: string }

interface State {
  fs: Fs;
  path: Path;
  cp: ChildProcess;
  root: string;
  tmp: string;
  tarball: string;
  nodeExample?: string;
  browserExample?: string;
}

const t = suite<{ s?: State }>('package', {});

async function state(ctx: { s?: State }): Promise<State> {
  if (ctx.s) return ctx.s;
  const [fs, path, cp, os] = await Promise.all([load<Fs>('node:fs/promises'), load<Path>('node:path'), load<ChildProcess>('node:child_process'), load<typeof import('node:os')>('node:os')]);
  const root = process.cwd();
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'wgprune-package-'));
  ctx.s = { fs, path, cp, root, tmp, tarball: '' };
  return ctx.s;
}

function run(s: State, command: string, args: string[], opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<Ran> {
  return new Promise((resolve) => {
    const child = s.cp.spawn(command, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => { stderr += e.message; });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

const secs = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const shown = (r: Ran) => `exit ${r.code}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;

interface LockEntry { version?: string; resolved?: string; integrity?: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; [k: string]: unknown }

/**
 * package-lock.json for a project that depends on the tarball only: the tarball's entry, and
 * its dependencies' entries copied from the repository's lock (found as Node would, nested
 * first). `resolved` is filled in where the repository's lock leaves it out, so that npm
 * takes the tarballs from its cache by their integrity and asks the registry for nothing.
 */
async function lockFor(s: State, project: Record<string, unknown>, spec: string): Promise<unknown> {
  const pkg = JSON.parse(await s.fs.readFile(s.path.join(s.root, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; bin: unknown; engines: unknown; license: string };
  const repo = (JSON.parse(await s.fs.readFile(s.path.join(s.root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }).packages;
  const integrity = 'sha512-' + (await load<typeof import('node:crypto')>('node:crypto')).createHash('sha512').update(await s.fs.readFile(s.tarball)).digest('base64');
  const packages: Record<string, LockEntry> = {
    '': { name: project.name, dependencies: project.dependencies as Record<string, string> },
    [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: spec, integrity, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  const find = (from: string, name: string): string | undefined => {
    for (let at = from; ; at = at.slice(0, Math.max(0, at.lastIndexOf('/node_modules/')))) {
      const p = `${at ? `${at}/` : ''}node_modules/${name}`;
      if (repo[p]) return p;
      if (!at) return undefined;
    }
  };
  const walk = (from: string, deps: Record<string, string> | undefined, optional: boolean) => {
    for (const name of Object.keys(deps ?? {})) {
      const p = find(from, name);
      if (!p) {
        if (optional) continue;
        throw new Error(`package-lock.json has no entry for ${name} (a dependency of ${from || 'wgprune'}): run npm install`);
      }
      if (packages[p]) continue;
      const entry = { ...repo[p]! };
      delete entry.dev; delete entry.devOptional; delete entry.peer;
      entry.resolved ??= `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
      packages[p] = entry;
      walk(p, entry.dependencies, false);
      walk(p, entry.optionalDependencies, true);
    }
  };
  walk('', pkg.dependencies, false);
  return { name: project.name, lockfileVersion: 3, requires: true, packages };
}

/** Copies examples/NAME next to the tarball, points its dependency at it, installs it offline. */
async function installExample(s: State, name: string): Promise<string> {
  const dir = s.path.join(s.tmp, 'examples', name);
  await s.fs.cp(s.path.join(s.root, 'examples', name), dir, { recursive: true, filter: (src) => !/[\\/](node_modules|dist|sst2-mini-pruned)$/.test(src) });
  const project = JSON.parse(await s.fs.readFile(s.path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const spec = `file:${s.path.relative(dir, s.tarball).split(s.path.sep).join('/')}`;
  assert.equal(Object.keys(project.dependencies as object), ['wgprune'], `examples/${name} depends on the package only`);
  // The tests bundle with the repository's esbuild: the example's devDependencies are not installed.
  project.dependencies = { wgprune: spec };
  delete project.devDependencies;
  await s.fs.writeFile(s.path.join(dir, 'package.json'), JSON.stringify(project, null, 2));
  await s.fs.writeFile(s.path.join(dir, 'package-lock.json'), JSON.stringify(await lockFor(s, project, spec), null, 2));
  const t0 = performance.now();
  const ci = (mode: string) => run(s, 'npm', ['ci', mode, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, timeoutMs: 120_000 });
  let r = await ci('--offline'), how = 'from the npm cache';
  // A cache emptied since the project's `npm ci` (node_modules restored from elsewhere): fetch what is missing.
  if (r.code !== 0 && /ENOTCACHED/.test(r.stderr)) [r, how] = [await ci('--prefer-offline'), 'some from the registry'];
  assert.is(r.code, 0, `npm ci in examples/${name} failed\n${shown(r)}`);
  console.log(`installed: examples/${name}, ${how} (${secs(t0)})`);
  return dir;
}

t('npm pack ships the library entries, the CLI, the declarations and the demo\'s model and data, and nothing else', async (ctx) => {
  if (!isNode) return skip('packs and installs with npm');
  const s = await state(ctx);
  for (const f of ['dist/index.js', 'dist/browser.js', 'dist/cli.js', 'dist/types/src/index.d.ts', 'dist/types/src/browser.d.ts']) {
    assert.ok(await s.fs.stat(s.path.join(s.root, f)).catch(() => null), `${f} is missing: run node scripts/build.mjs`);
  }
  const t0 = performance.now();
  const r = await run(s, 'npm', ['pack', '--json', '--pack-destination', s.tmp, '--loglevel=error'], { cwd: s.root });
  assert.is(r.code, 0, shown(r));
  const [info] = JSON.parse(r.stdout) as { filename: string; size: number; unpackedSize: number; files: { path: string; size: number; mode: number }[] }[];
  s.tarball = s.path.join(s.tmp, info!.filename);
  const paths = info!.files.map((f) => f.path);
  const allowed = /^(package\.json|README\.md|LICENSE|dist\/(index|browser|cli)\.js|dist\/types\/.+\.d\.ts|models\/sst2-mini\/[^/]+|data\/PROVENANCE\.md|data\/glue\/SST-2\/(dev|train-2048)\.tsv)$/;
  assert.equal(paths.filter((p) => !allowed.test(p)), [], 'only what a user runs');
  for (const p of ['dist/index.js', 'dist/browser.js', 'dist/cli.js', 'dist/types/src/index.d.ts', 'dist/types/src/browser.d.ts',
    'models/sst2-mini/config.json', 'models/sst2-mini/model.safetensors', 'models/sst2-mini/vocab.txt', 'data/glue/SST-2/dev.tsv', 'data/glue/SST-2/train-2048.tsv']) {
    assert.ok(paths.includes(p), `the tarball holds ${p}`);
  }
  assert.is(info!.files.find((f) => f.path === 'dist/cli.js')!.mode & 0o111, 0o111, 'dist/cli.js has its run bit');
  console.log(`tarball: ${info!.filename}, ${(info!.size / 2 ** 20).toFixed(1)} MiB (${(info!.unpackedSize / 2 ** 20).toFixed(1)} MiB unpacked, ${paths.length} files; ${secs(t0)})`);
});

t('installs offline into a fresh project: `wgprune --help` runs and the Node entry exports the public API', async (ctx) => {
  if (!isNode) return skip('packs and installs with npm');
  const s = await state(ctx);
  assert.ok(s.tarball, 'no tarball (see the test before)');
  const dir = s.nodeExample = await installExample(s, 'node');
  let r = await run(s, s.path.join(dir, 'node_modules', '.bin', 'wgprune'), ['--help'], { cwd: dir });
  assert.is(r.code, 0, shown(r));
  assert.match(r.stdout, 'usage: wgprune <command>');
  const keys = (entry: string) => run(s, process.execPath, ['-e', `import(${JSON.stringify(entry)}).then((m) => console.log(JSON.stringify(Object.keys(m).sort())))`], { cwd: dir });
  r = await keys('wgprune');
  assert.is(r.code, 0, shown(r));
  assert.equal(JSON.parse(r.stdout), [...nodeApi].sort());
  r = await keys('wgprune/browser');
  assert.is(r.code, 0, shown(r));
  assert.equal(JSON.parse(r.stdout), [...browserApi].sort());
  r = await run(s, process.execPath, ['-e', "import('wgprune/dist/cli.js')"], { cwd: dir });
  assert.match(r.stderr, 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'internal files are not importable');
});

t('the Node example prunes the bundled model from the installed package and writes it', async (ctx) => {
  if (!isNode) return skip('packs and installs with npm');
  const s = await state(ctx);
  assert.ok(s.nodeExample, 'not installed (see the test before)');
  const t0 = performance.now();
  const r = await run(s, process.execPath, ['prune.mjs', '--dev', '100'], { cwd: s.nodeExample, timeoutMs: 180_000 });
  assert.is(r.code, 0, shown(r));
  console.log(`${r.stdout.trim()}\nexample: ${secs(t0)}`);
  const kept = /kept: (\d+) of 32 heads, (\d+) of 4096 neurons \(([\d.]+)% of the MACs\)/.exec(r.stdout);
  assert.ok(kept, `no 'kept:' line\n${shown(r)}`);
  assert.ok(Number(kept![3]) <= 60, 'within the constraint');
  assert.match(r.stdout, /dev \(100\): accuracy full 0\.\d{4}, pruned 0\.\d{4}; agreement [01]\.\d{4}/);
  const files = (await s.fs.readdir(s.path.join(s.nodeExample!, 'sst2-mini-pruned'))).sort();
  for (const f of ['config.json', 'masks.json', 'model.safetensors', 'vocab.txt']) assert.ok(files.includes(f), `the pruned folder holds ${f}: ${files.join(', ')}`);
});

t('the browser entry bundles without Node built-ins or Dawn, and the browser example prints the logits in Chromium', async (ctx) => {
  if (!isNode) return skip('packs and installs with npm');
  const s = await state(ctx);
  assert.ok(s.tarball, 'no tarball (see the first test)');
  const dir = s.browserExample = await installExample(s, 'browser');
  const esbuild = await load<typeof import('esbuild')>('esbuild');
  let t0 = performance.now();
  const built = await esbuild.build({
    absWorkingDir: dir, entryPoints: ['main.js'], bundle: true, format: 'esm', platform: 'browser', outfile: 'dist/main.js', metafile: true, logLevel: 'silent',
  });
  const inputs = Object.keys(built.metafile.inputs);
  assert.ok(inputs.some((p) => p.endsWith('node_modules/wgprune/dist/browser.js')), `'wgprune' resolves to the browser entry: ${inputs.join(', ')}`);
  assert.equal(inputs.filter((p) => p.startsWith('node:') || /node_modules\/webgpu\//.test(p) || /\.node$/.test(p)), [], 'no Node built-in, no Dawn');
  const bundle = await s.fs.readFile(s.path.join(dir, 'dist', 'main.js'), 'utf8');
  console.log(`bundle: ${(bundle.length / 1024).toFixed(0)} KiB (${secs(t0)})`);
  assert.not.match(bundle, /\b(from|import|require)\s*\(?\s*["'](node:[^"']+|fs|path|url|os|webgpu)["']/, 'no import of a Node module or Dawn in the bundle');

  const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!(await s.fs.stat(chromiumPath).catch(() => null))) {
    if (process.env.CI) assert.unreachable(`${chromiumPath} does not exist (set CHROMIUM_PATH)`);
    return skip(`the page: ${chromiumPath} does not exist (set CHROMIUM_PATH)`);
  }
  const server = s.cp.spawn(process.execPath, ['serve.mjs'], { cwd: dir, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const { chromium } = await load<typeof import('playwright-core')>('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      server.stdout!.setEncoding('utf8').once('data', (d: string) => resolve(d.trim()));
      server.once('exit', (code) => reject(new Error(`serve.mjs exited (${code})`)));
    });
    const page = await browser.newPage();
    const lines: string[] = [];
    const done = new Promise<void>((resolve) => {
      page.on('console', (m) => { lines.push(m.text()); if (/^(label|error): /.test(m.text())) resolve(); });
      page.on('pageerror', (e) => { lines.push(`error: ${e.message}`); resolve(); });
    });
    t0 = performance.now();
    await page.goto(url);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([done, new Promise((resolve) => { timer = setTimeout(resolve, 90_000); })]);
    clearTimeout(timer);
    console.log(`${lines.join('\n')}\npage: ${secs(t0)}`);
    const logits = lines.find((l) => l.startsWith('logits: '));
    assert.ok(logits, `no logits in the page's console:\n${lines.join('\n')}`);
    // PyTorch's logits of this sentence (models/sst2-mini/reference/logits.jsonl, example 0).
    const got = JSON.parse(logits!.slice('logits: '.length)) as number[], want = [-2.9945263862609863, 3.211452007293701];
    assert.is(got.length, 2);
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-3, `logit ${i}: ${v}, PyTorch ${want[i]}`));
    assert.ok(lines.includes('label: positive'), lines.join('\n'));
  } finally {
    await browser.close().catch(() => {});
    server.kill();
  }
});

t('a TypeScript file that imports the package type-checks against its declarations', async (ctx) => {
  if (!isNode) return skip('packs and installs with npm');
  const s = await state(ctx);
  assert.ok(s.nodeExample, 'not installed (see the tests before)');
  const dir = s.path.join(s.nodeExample!);
  await s.fs.writeFile(s.path.join(dir, 'check.ts'), `
import { bundled, createRuntime, openModelFolder, pruneModel, readGlueTsv, sampleBatches, type PruneResult, type Runtime } from 'wgprune';
import { openModelFiles, filesToBlobs, evaluateGlue, parseGlueTsv, type GlueResult } from 'wgprune/browser';

export async function check(): Promise<number> {
  const rt: Runtime = await createRuntime({ powerPreference: 'high-performance' });
  const { model, config, configJson, tokenizer, folder } = await openModelFolder(rt, bundled.model);
  const { batches, meanTokens } = sampleBatches(config, tokenizer, await readGlueTsv('sst2', bundled.samples), { count: 8 });
  const r: PruneResult = await pruneModel(model, batches, configJson, { constraint: 0.5, seqLen: meanTokens, onProgress: (step, done, total) => void [step.length, done + total] });
  const heads: number = r.found.search.heads;
  const blobs: Map<string, Blob> = filesToBlobs(new Map([['config.json', [new Uint8Array(2)]]]));
  const again = await openModelFiles(rt, blobs);
  const dev: GlueResult = await evaluateGlue(again.model, again.tokenizer, parseGlueTsv('sst2', 'sentence\\tlabel\\n'), { batchSize: 8 });
  // @ts-expect-error: the task is one of the GLUE names
  parseGlueTsv('sst3', '');
  // @ts-expect-error: constraint is required
  await pruneModel(model, batches, configJson, { seqLen: 1 });
  void folder;
  return heads + dev.examples;
}
`);
  await s.fs.writeFile(s.path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: [], skipLibCheck: false },
    files: ['check.ts'],
  }));
  const t0 = performance.now();
  const r = await run(s, process.execPath, [s.path.join(s.root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: dir, timeoutMs: 120_000 });
  assert.is(r.code, 0, shown(r));
  console.log(`tsc: ${secs(t0)}`);
});

t.after(async (ctx) => {
  if (ctx.s) await ctx.s.fs.rm(ctx.s.tmp, { recursive: true, force: true });
});

t.run();
