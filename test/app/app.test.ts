// The web app (src/app/, issue 10) end to end: `scripts/app.mjs` builds and serves it, headless
// Chromium (SwiftShader) runs the bundled demo from the automated URL, and the result is
// checked against the Node CLI's for the same seed and samples; the pruned folder is
// downloaded as a zip and loaded in Node; bad inputs get their message on the page; a
// screenshot is taken and checked not to be blank (WGPRUNE_APP_SCREENSHOT=PATH keeps it,
// e.g. docs/app.png). Node only: it drives the browser from outside.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openCheckpoint } from '../../src/io/checkpoint.js';
import { bytesSource, type ByteSource } from '../../src/io/source.js';
import { readZipArchive } from '../../src/io/zip.js';
import { loadModel } from '../../src/models/load.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { skip } from '../helpers/gpu.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
// Computed specifiers: the browser build of this file (which only skips) leaves them alone.
const load = <T>(name: string) => import(/* @vite-ignore */ name) as Promise<T>;

// Few samples and dev sentences: SwiftShader runs the demo at a few GFLOP/s.
const SAMPLES = 32, DEV = 16, SEED = 0, CONSTRAINT = 0.5;
const demoUrl = `?demo&constraint=${CONSTRAINT}&samples=${SAMPLES}&seed=${SEED}&dev=${DEV}&sweep=0.3`;

interface Report {
  adapter: string; model: Record<string, unknown>; task: string; constraint: number;
  samples: Record<string, unknown>; fisher: string; costModel: { seqLen: number; macsFull: number; fraction: number };
  kept: { heads: number; neurons: number; headsPerLayer: number[]; neuronsPerLayer: number[] };
  seconds: Record<string, number>; size: Record<string, number>; tuning: unknown;
  dev: { examples: number; full: Record<string, number>; afterTuning: { metrics: Record<string, number>; agreement: number; meanKL: number } };
}

/** Key paths of an object to `depth` levels (arrays are leaves): what "the same content" means across adapters. */
function keyPaths(v: unknown, depth: number, prefix = ''): string[] {
  if (depth === 0 || v === null || typeof v !== 'object' || Array.isArray(v)) return [prefix];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => keyPaths(x, depth - 1, prefix ? `${prefix}.${k}` : k)).sort();
}

/** Pixels of a PNG (8-bit RGB or RGBA, not interlaced, as Chromium writes screenshots). */
async function decodePng(png: Uint8Array): Promise<{ width: number; height: number; channels: number; pixels: Uint8Array }> {
  const zlib = await load<typeof import('node:zlib')>('node:zlib');
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let at = 8, width = 0, height = 0, channels = 0;
  const idat: Uint8Array[] = [];
  while (at < png.length) {
    const len = dv.getUint32(at), type = String.fromCharCode(...png.subarray(at + 4, at + 8)), data = png.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = dv.getUint32(at + 8); height = dv.getUint32(at + 12);
      const depth = data[8], colour = data[9], interlace = data[12];
      assert.is(depth, 8, '8-bit PNG');
      assert.is(interlace, 0, 'not interlaced');
      channels = colour === 6 ? 4 : colour === 2 ? 3 : 0;
      assert.ok(channels, `colour type ${colour}`);
    } else if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const raw = new Uint8Array(zlib.inflateSync(Buffer.concat(idat)));
  const stride = width * channels, pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!, line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride), prev = y ? pixels.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[i - channels]! : 0, b = prev[i]!, c = i >= channels ? prev[i - channels]! : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter]!;
      out[i] = (line[i]! + pred) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

const t = suite('app');

t('the web app prunes the bundled demo in Chromium as the CLI does; the zip loads in Node; bad inputs are explained on the page', async () => {
  if (!isNode) return skip('drives Chromium from Node');
  const [fs, path, os, cp] = await Promise.all([
    load<typeof import('node:fs/promises')>('node:fs/promises'), load<typeof import('node:path')>('node:path'),
    load<typeof import('node:os')>('node:os'), load<typeof import('node:child_process')>('node:child_process'),
  ]);
  const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!(await fs.stat(chromiumPath).catch(() => null))) {
    if (process.env.CI) assert.unreachable(`${chromiumPath} does not exist (set CHROMIUM_PATH)`);
    return skip(`${chromiumPath} does not exist (set CHROMIUM_PATH)`);
  }
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'wgprune-app-'));
  const secs = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  const run = (args: string[]) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = cp.spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

  // The Node CLI, same inputs, seed and sample count: alongside the browser, whose waits leave it room.
  const cliStart = performance.now();
  let t0 = cliStart;
  const cliOut = path.join(tmp, 'cli');
  const cliDone = run(['dist/cli.js', 'prune', '--task', 'sst2', '--samples', 'data/glue/SST-2/train-2048.tsv', '--sample-count', String(SAMPLES), '--seed', String(SEED),
    '--constraint', String(CONSTRAINT), '--data', 'data/glue/SST-2/dev.tsv', '--limit', String(DEV), '--out', cliOut]).then((r) => ({ ...r, secs: secs(cliStart) }));

  // Build and serve the app (npm run app), on a free port.
  const server = cp.spawn(process.execPath, ['scripts/app.mjs', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let serverErr = '';
  server.stderr!.on('data', (d: Buffer) => { serverErr += d; });
  const { chromium } = await load<typeof import('playwright-core')>('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  try {
    const base = await new Promise<string>((resolve, reject) => {
      server.stdout!.setEncoding('utf8').once('data', (d: string) => resolve(d.trim()));
      server.once('exit', (code) => reject(new Error(`scripts/app.mjs exited (${code}): ${serverErr}`)));
    });
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'prints its address');
    console.log(`app built and served at ${base} (${secs(t0)} after the CLI started)`);
    t0 = performance.now();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const state = () => page.evaluate(() => document.documentElement.dataset.state);
    const settle = async (timeoutMs: number) => {
      await page.waitForFunction(() => ['done', 'error', 'cancelled'].includes(document.documentElement.dataset.state ?? ''), undefined, { timeout: timeoutMs, polling: 250 });
      return state();
    };
    const message = () => page.evaluate(() => document.getElementById('message')!.innerText);
    // Picking files reads config.json asynchronously: wait for what the page says about them.
    const waitFor = (id: string, pattern: string) => page.waitForFunction(([i, p]) => new RegExp(p!, 's').test(document.getElementById(i!)!.innerText), [id, pattern], { timeout: 10_000 });

    // The demo from its URL, no click.
    await page.goto(base + demoUrl);
    assert.is(await state(), 'running', 'running at once');
    const final = await settle(240_000);
    assert.is(final, 'done', `the demo ended in "${final}": ${await message()}`);
    const adapter = await page.evaluate(() => document.getElementById('adapter')!.innerText);
    assert.match(adapter, 'WebGPU adapter:', 'the page names its adapter');
    const steps = await page.evaluate(() => Array.from(document.querySelectorAll('#steps li')).map((li) => `${li.className}: ${(li as HTMLElement).innerText}`));
    console.log(`app demo: ${secs(t0)}\n  ${adapter.split('\n')[0]}\n  ${steps.join('\n  ')}`);
    const report = await page.evaluate(() => (window as unknown as { wgprune: { report: unknown } }).wgprune.report) as Report;
    const cli = await cliDone;
    assert.is(cli.code, 0, cli.stderr);
    const cliReport = JSON.parse(await fs.readFile(path.join(cliOut, 'report.json'), 'utf8')) as Report;
    console.log(`cli (alongside): ${cli.secs}; heads ${cliReport.kept.headsPerLayer.join(' ')}; neurons ${cliReport.kept.neuronsPerLayer.join(' ')}`);

    // Same content as the CLI's report.json: the same fields, and the same values wherever the adapter cannot matter.
    assert.equal(keyPaths(report, 2), keyPaths(cliReport, 2), 'report.json has the CLI\'s fields');
    for (const k of ['task', 'constraint', 'fisher'] as const) assert.equal(report[k], cliReport[k], k);
    assert.equal({ ...report.samples, file: 0 }, { ...cliReport.samples, file: 0 }, 'samples');
    assert.is(report.samples.file, 'data/glue/SST-2/train-2048.tsv');
    assert.equal({ ...report.model, path: 0 }, { ...cliReport.model, path: 0 }, 'model');
    assert.equal([report.costModel.seqLen, report.costModel.macsFull], [cliReport.costModel.seqLen, cliReport.costModel.macsFull], 'cost model');
    assert.equal([report.size.parametersBefore, report.size.weightBytesBefore], [cliReport.size.parametersBefore, cliReport.size.weightBytesBefore], 'sizes before');
    assert.is(report.dev.examples, DEV);
    assert.ok(report.costModel.fraction <= CONSTRAINT, `within the constraint: ${report.costModel.fraction}`);

    // Heads and neurons kept per layer as the CLI keeps them. The Fisher sums run in float32
    // on different adapters (SwiftShader, lavapipe) in a different order, so near-ties may fall
    // the other way: a head per layer, and 2% of a layer's width (20 of sst2-mini's 1,024 neurons).
    const a = report.kept, b = cliReport.kept;
    const width = Number(report.model.intermediate);
    const headDiff = a.headsPerLayer.map((h, l) => h - b.headsPerLayer[l]!), neuronDiff = a.neuronsPerLayer.map((n, l) => n - b.neuronsPerLayer[l]!);
    console.log(`kept: app heads ${a.headsPerLayer.join(' ')}, neurons ${a.neuronsPerLayer.join(' ')}; differences from the CLI: heads ${headDiff.join(' ')}, neurons ${neuronDiff.join(' ')}`);
    assert.ok(headDiff.every((d) => Math.abs(d) <= 1) && Math.abs(a.heads - b.heads) <= 1, `heads per layer: app ${a.headsPerLayer}, CLI ${b.headsPerLayer}`);
    assert.ok(neuronDiff.every((d) => Math.abs(d) <= 0.02 * width), `neurons per layer: app ${a.neuronsPerLayer}, CLI ${b.neuronsPerLayer}`);

    // The pictures and measurements are on the page.
    const figs = await page.evaluate(() => ['fig-kept', 'fig-heads', 'fig-neurons', 'fig-latency', 'fig-sweep-metric', 'fig-sweep-fidelity']
      .map((id) => [id, document.querySelectorAll(`#${id} svg`).length, document.querySelectorAll(`#${id} svg :is(rect, circle, line, path)`).length]));
    for (const [id, svgs, marks] of figs as [string, number, number][]) assert.ok(svgs === 1 && marks > 2, `${id}: ${svgs} svg, ${marks} marks`);
    const extra = await page.evaluate(() => { const w = (window as unknown as { wgprune: { sweep: { error?: string; fraction: number }[]; latency: { unprunedMs: number; prunedMs: number } } }).wgprune; return { sweep: w.sweep, latency: w.latency }; });
    assert.is(extra.sweep.length, 1);
    assert.ok(!extra.sweep[0]!.error && extra.sweep[0]!.fraction <= 0.3, JSON.stringify(extra.sweep));
    assert.ok(extra.latency.unprunedMs > 0 && extra.latency.prunedMs > 0, JSON.stringify(extra.latency));

    // The screenshot: not blank.
    const png = await page.screenshot({ fullPage: true });
    const shotPath = process.env.WGPRUNE_APP_SCREENSHOT || path.join(tmp, 'app.png');
    await fs.writeFile(shotPath, png);
    const img = await decodePng(png);
    const colours = new Set<number>();
    let nonWhite = 0;
    for (let i = 0; i < img.pixels.length; i += img.channels * 7) {
      const [r, g, bl] = [img.pixels[i]!, img.pixels[i + 1]!, img.pixels[i + 2]!];
      colours.add((r << 16) | (g << 8) | bl);
      if (r + g + bl < 600) nonWhite++;
    }
    const sampled = img.pixels.length / (img.channels * 7);
    console.log(`screenshot: ${shotPath}, ${img.width}x${img.height}, ${colours.size} colours in 1 pixel of 7, ${(100 * nonWhite / sampled).toFixed(1)}% not near white`);
    assert.ok(colours.size > 50 && nonWhite / sampled > 0.02, 'the screenshot shows the page');

    // The zip: loads in Node as a model folder, with the report and the layer sizes the page shows.
    t0 = performance.now();
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-zip')]);
    assert.is(download.suggestedFilename(), 'sst2-mini-pruned.zip');
    const zipPath = path.join(tmp, 'pruned.zip');
    await download.saveAs(zipPath);
    const zipBytes = new Uint8Array(await fs.readFile(zipPath));
    const entries = await readZipArchive(bytesSource('pruned.zip', zipBytes));
    const files = new Map<string, ByteSource>();
    for (const [name, e] of entries) {
      assert.ok(name.startsWith('sst2-mini-pruned/'), name);
      files.set(name.slice('sst2-mini-pruned/'.length), bytesSource(name, zipBytes.slice(e.dataOffset, e.dataOffset + e.size)));
    }
    assert.equal([...files.keys()].sort(), (await fs.readdir(cliOut)).sort(), 'the files the CLI writes');
    const zipReport = JSON.parse(new TextDecoder().decode(await files.get('report.json')!.read(0, files.get('report.json')!.size))) as Report;
    assert.equal(zipReport, report, 'report.json in the zip is window.wgprune.report');
    assert.is(report.size.weightBytesAfter, files.get('model.safetensors')!.size);
    const rt = await createRuntime();
    try {
      const checkpoint = await openCheckpoint(files, 'sst2-mini-pruned');
      const { model } = await loadModel(rt, checkpoint).finally(() => checkpoint.close());
      assert.equal(model.layerSizes.map((l) => l.heads), report.kept.headsPerLayer);
      assert.equal(model.layerSizes.map((l) => l.neurons), report.kept.neuronsPerLayer);
      model.dispose();
    } finally {
      rt.destroy();
    }
    console.log(`zip: ${(zipBytes.length / 2 ** 20).toFixed(1)} MiB, ${entries.size} files, loaded in Node (${secs(t0)})`);

    // Cancel ends the run at once and leaves the page usable (the bad inputs below run after it).
    t0 = performance.now();
    await page.click('#demo');
    await page.waitForSelector('#steps li.running[data-step="fisher"]', { timeout: 60_000 });
    await page.click('#cancel');
    assert.is(await state(), 'cancelled');
    assert.match(await message(), 'Cancelled.');
    assert.is(await page.evaluate(() => (document.getElementById('run') as HTMLButtonElement).disabled), false, 'Prune can be pressed again');
    console.log(`cancel: ${secs(t0)}`);

    // Bad inputs, each with its message on the page.
    t0 = performance.now();
    const model = 'models/sst2-mini', train = 'data/glue/SST-2/train-2048.tsv';
    await page.setInputFiles('#model-files', [`${model}/vocab.txt`, `${model}/model.safetensors`]);
    await waitFor('message', 'no config\\.json');
    await page.setInputFiles('#samples-file', train);
    await page.click('#run');
    assert.is(await settle(60_000), 'error');
    assert.match(await message(), /no config\.json.*Pick the Hugging Face model folder itself/s);

    const gpt2 = path.join(tmp, 'gpt2');
    await fs.mkdir(gpt2);
    await fs.writeFile(path.join(gpt2, 'config.json'), JSON.stringify({ architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }));
    await page.setInputFiles('#model-files', [path.join(gpt2, 'config.json'), `${model}/vocab.txt`]);
    await waitFor('message', 'GPT2LMHeadModel');
    assert.match(await message(), /GPT2LMHeadModel.*supported: BertForSequenceClassification/s, 'an unsupported architecture');

    // Weights that disagree with config.json: found when the model loads.
    const narrow = path.join(tmp, 'narrow');
    await fs.mkdir(narrow);
    await fs.writeFile(path.join(narrow, 'config.json'), JSON.stringify({ ...JSON.parse(await fs.readFile(`${model}/config.json`, 'utf8')), intermediate_size: 512 }));
    await page.setInputFiles('#model-files', [path.join(narrow, 'config.json'), `${model}/model.safetensors`, `${model}/vocab.txt`]);
    await waitFor('model-summary', 'FFN 512');
    await page.click('#run');
    assert.is(await settle(60_000), 'error');
    assert.match(await message(), /declares an FFN of 512 neurons.*disagree.*Download the model folder again/s, 'weights that disagree with config.json');

    await page.setInputFiles('#model-files', ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json'].map((f) => `${model}/${f}`));
    await waitFor('model-summary', 'FFN 1024');
    await page.selectOption('#task', 'mrpc');
    await page.click('#run');
    assert.is(await settle(60_000), 'error');
    assert.match(await message(), /train-2048\.tsv.*is this the GLUE mrpc file\?.*Check the task/s, 'a data file of another task');
    console.log(`bad inputs: ${secs(t0)}`);
    assert.equal(pageErrors, [], 'no uncaught errors on the page');
    await context.close();
  } finally {
    await browser.close().catch(() => {});
    server.kill();
    await cliDone.catch(() => undefined);
    await fs.rm(tmp, { recursive: true, force: true });
  }
});

t.run();
