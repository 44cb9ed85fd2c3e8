// The matmul benchmarks in headless Chromium (WebGPU on SwiftShader where there is no GPU):
// serves the page bundled by scripts/build.mjs (dist/bench/browser/) from 127.0.0.1, drives
// /usr/bin/chromium through playwright-core, prints the same table as `npm run bench`, and
// merges its records into --json FILE. `npm run bench -- --browser` runs it after Node.
//
//   node scripts/bench-browser.mjs [--time MS] [--repeat N] [--filter TEXT] [--shapes default|fisher|all] [--kernel texture|subgroup|general] [--peers LIST] [--json FILE]
//                                  [--no-summary] [--markdown]
//   node scripts/bench-browser.mjs --latency [--latency-models sst2-mini,bert-base] [--latency-batches 1,32] [--latency-big-batches 1]
//
// --latency: instead, bench/latency.ts in the page (pruned models' latency against the
// unpruned one; sst2-mini is fetched from the repo's models/, served under /models/); by
// default sst2-mini only, at batch 1 (SwiftShader runs some 4 GFLOP/s).
// --peers: tfjs-webgpu,ort-web-webgpu (the default) or none. Env: CHROMIUM_PATH (default
// /usr/bin/chromium), WGPRUNE_BENCH_TIMEOUT_S (whole page, default 1200).
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const pageDir = join(root, 'dist/bench/browser');
const ortDir = join(root, 'node_modules/onnxruntime-web/dist');
const modelsDir = join(root, 'models');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const timeoutS = Number(process.env.WGPRUNE_BENCH_TIMEOUT_S) || 1200;

const usage = 'usage: node scripts/bench-browser.mjs [--time MS] [--repeat N] [--filter TEXT] [--shapes default|fisher|all] [--kernel texture|subgroup|general] [--peers tfjs-webgpu,ort-web-webgpu|none] [--json FILE] [--no-summary] [--markdown]\n' +
  '       node scripts/bench-browser.mjs --latency [--latency-models sst2-mini,bert-base] [--latency-batches 1,32] [--latency-big-batches 1]';
let values;
try {
  ({ values } = parseArgs({
    options: {
      time: { type: 'string', default: '2000' },
      repeat: { type: 'string', default: '1' },
      filter: { type: 'string' },
      shapes: { type: 'string', default: 'default' },
      kernel: { type: 'string' },
      peers: { type: 'string', default: 'tfjs-webgpu,ort-web-webgpu' },
      json: { type: 'string' },
      'no-summary': { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      latency: { type: 'boolean', default: false },
      'latency-models': { type: 'string', default: 'sst2-mini' },
      'latency-batches': { type: 'string', default: '1' },
      'latency-big-batches': { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  console.error(`${err.message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const peers = values.peers.split(',').map((p) => p.trim()).filter(Boolean)
  .map((p) => ({ tfjs: 'tfjs-webgpu', 'ort-web': 'ort-web-webgpu' })[p] ?? p);
const unknown = peers.filter((p) => !['tfjs-webgpu', 'ort-web-webgpu', 'none'].includes(p));
if (unknown.length) {
  console.error(`unknown or Node-only peer(s) for the browser: ${unknown.join(', ')}\n${usage}`);
  process.exit(2);
}

if (!existsSync(join(pageDir, 'bench.js')) || !existsSync(join(root, 'dist/bench/report.js'))) {
  console.error('no dist/bench/browser/bench.js: run node scripts/build.mjs first');
  process.exit(1);
}
if (!existsSync(chromiumPath)) {
  console.error(`${chromiumPath} does not exist (install Debian's chromium: bash scripts/setup.sh; or set CHROMIUM_PATH)`);
  process.exit(1);
}
const { formatSummary, formatTable, markdownSummary, mergeRecords } = await import(join(root, 'dist/bench/report.js'));
const { chromium } = await import('playwright-core');

// ---------------------------------------------------------------- server
const contentTypes = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.map': 'application/json', '.wasm': 'application/wasm', '.html': 'text/html; charset=utf-8' };
const page = '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>wgprune bench</title>\n' +
  '<script type="module" src="/bench.js" onerror="console.error(\'wgprune-bench: could not load /bench.js\')"></script>\n';

/** Files under `dir` only; null for anything else. */
function fileIn(dir, rel) {
  const path = normalize(join(dir, decodeURIComponent(rel)));
  return path.startsWith(dir + sep) && existsSync(path) && statSync(path).isFile() ? path : null;
}

// ORT's WebAssembly heap is shared memory, which needs a cross-origin isolated page: hence
// COOP and COEP on every response (all of them same-origin).
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const send = (status, type, body) => {
    res.writeHead(status, {
      'content-type': type, 'cache-control': 'no-store',
      'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp',
    });
    res.end(body);
  };
  if (url.pathname === '/' || url.pathname === '/bench.html') return send(200, contentTypes['.html'], page);
  const path = url.pathname.startsWith('/ort/') ? fileIn(ortDir, url.pathname.slice(5))
    : url.pathname.startsWith('/models/') ? fileIn(modelsDir, url.pathname.slice(8))
    : fileIn(pageDir, url.pathname.slice(1));
  if (!path) return send(404, 'text/plain', 'not found');
  send(200, contentTypes[extname(path)] ?? 'application/octet-stream', readFileSync(path));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

// ---------------------------------------------------------------- settling
/** CPU seconds used so far by the processes below this one (Chromium's), from /proc. */
function childrenCpuSeconds() {
  const procs = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd on
      procs.set(+name, { ppid: +f[1], ticks: +f[11] + +f[12] });
    } catch { /* gone */ }
  }
  const isBelow = (pid) => {
    for (let p = procs.get(pid)?.ppid, n = 0; p && n < 64; p = procs.get(p)?.ppid, n++) if (p === process.pid) return true;
    return false;
  };
  let ticks = 0;
  for (const [pid, p] of procs) if (isBelow(pid)) ticks += p.ticks;
  return ticks / 100; // USER_HZ
}

/**
 * What the page calls before it measures (as bench/settle.ts does in Node): waits until
 * Chromium uses less than 15% of a core over half a second (at most 4 minutes), so that
 * V8's background compile of ORT's WebAssembly does not overlap the measurements.
 */
async function settle() {
  if (!existsSync('/proc/self/stat')) return 0;
  const t0 = performance.now();
  for (;;) {
    const c0 = childrenCpuSeconds(), w0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const busy = (childrenCpuSeconds() - c0) / ((performance.now() - w0) / 1000);
    if (busy < 0.15 || performance.now() - t0 > 240_000) return (performance.now() - t0) / 1000;
  }
}

// ---------------------------------------------------------------- browser
// As scripts/test.mjs: --enable-unsafe-webgpu gives an adapter (SwiftShader's Vulkan, bundled
// with Chromium); the rest keeps the browser quiet. Playwright adds --headless and --no-sandbox.
const chromiumArgs = ['--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let result, failure;
const started = performance.now();
const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
try {
  const tab = await browser.newPage();
  await tab.exposeFunction('wgpruneSettle', settle);
  let fail;
  const failed = new Promise((_, reject) => { fail = reject; });
  tab.on('console', (msg) => {
    const text = msg.text(), type = msg.type();
    // --latency: the page's progress (console.error) goes to stderr, as in Node.
    if (values.latency && type === 'error' && !text.startsWith('wgprune-bench: ')) console.error(text);
    else console.log(type === 'log' || type === 'info' ? text : `[console.${type}] ${text}`);
    if (text.startsWith('wgprune-bench: ')) fail(new Error(text.slice('wgprune-bench: '.length)));
  });
  tab.on('pageerror', (err) => fail(new Error(`page error: ${err.stack || err.message}`)));
  tab.on('crash', () => fail(new Error('page crashed')));
  const timer = setTimeout(() => fail(new Error(`timed out after ${timeoutS} s (WGPRUNE_BENCH_TIMEOUT_S)`)), timeoutS * 1000);
  const query = values.latency
    ? new URLSearchParams({ latency: '1', models: values['latency-models'], batches: values['latency-batches'], bigBatches: values['latency-big-batches'] })
    : new URLSearchParams({ time: values.time, repeat: values.repeat, peers: peers.join(','), ortWasm: '/ort/', shapes: values.shapes === 'all' ? 'default,fisher' : values.shapes });
  if (values.filter) query.set('filter', values.filter);
  if (values.kernel) query.set('kernel', values.kernel);
  await tab.goto(`${base}/bench.html?${query}`);
  const done = tab.waitForFunction(() => globalThis.wgpruneBench !== undefined, null, { timeout: 60_000 })
    .then(() => tab.evaluate(() => globalThis.wgpruneBench));
  result = await Promise.race([done, failed]);
  clearTimeout(timer);
} catch (err) {
  failure = err;
} finally {
  await browser.close().catch(() => {});
  server.close();
}
if (failure) {
  console.error(`browser benchmark failed: ${failure.message}`);
  process.exit(1);
}

// The page printed the adapter line and the table (console.log, echoed above).
if (values.latency) {
  console.error(`latency benchmark in headless Chromium: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  process.exit(0);
}
const { records, skipped } = result;
console.log('');
console.log(formatTable(records));
// With --json, the summary also sees what the file held (Node's records: native sgemm).
let all = records;
if (values.json) {
  const old = existsSync(values.json) ? JSON.parse(readFileSync(values.json, 'utf8')) : [];
  all = mergeRecords(Array.isArray(old) ? old : [], records);
  writeFileSync(values.json, JSON.stringify(all, null, 2) + '\n');
}
if (!values['no-summary']) {
  console.log('summary (median GFLOP/s; ours/peer > 1 means wgprune is faster):');
  console.log(formatSummary(all));
}
if (skipped.length) console.log(`\nnot measured in the browser:\n${skipped.map((s) => `  ${s}`).join('\n')}`);
if (values.markdown) console.log(`\n${markdownSummary(all)}`);
if (values.json && !values['no-summary']) console.log(`wrote ${records.length} records into ${values.json} (${all.length} in all)`);
