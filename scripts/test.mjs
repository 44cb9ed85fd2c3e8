// Runs the bundled uvu test files (build them first: node scripts/build.mjs), in Node
// through Dawn and in headless Chromium through navigator.gpu, and sums their reports.
//
//   node scripts/test.mjs [substring ...] [--node-only | --browser-only]
//
// Env: WGPRUNE_TEST_TIMEOUT_S (per file, default 300), WGPRUNE_NO_BROWSER=1,
// CHROMIUM_PATH (default /usr/bin/chromium), CI (a skipped browser suite then fails).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, relative, sep } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const nodeDir = join(root, 'dist/test/node');
const browserDir = join(root, 'dist/test/browser');
const timeoutS = Number(process.env.WGPRUNE_TEST_TIMEOUT_S) || 300;
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const tty = process.stdout.isTTY;

const argv = process.argv.slice(2);
const nodeOnly = argv.includes('--node-only'), browserOnly = argv.includes('--browser-only');
const unknown = argv.filter((a) => a.startsWith('--') && a !== '--node-only' && a !== '--browser-only');
if (unknown.length || (nodeOnly && browserOnly)) {
  console.error(`usage: node scripts/test.mjs [substring ...] [--node-only | --browser-only]${unknown.length ? ` (unknown: ${unknown.join(' ')})` : ''}`);
  process.exit(2);
}
// Filters match the name shown for a file (test/ops/x.test.js); a .ts path matches too.
const filters = argv.filter((a) => !a.startsWith('--')).map((f) => f.replace(/\.ts$/, '.js'));

const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
const out = (s) => process.stdout.write(tty ? s : stripAnsi(s));

/** Relative paths (with '/') of the *.test.js files under dir, sorted, filtered. */
function testFiles(dir) {
  const found = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.test.js')) found.push(relative(dir, p).split(sep).join('/'));
    }
  };
  if (existsSync(dir)) walk(dir);
  return found.sort().filter((rel) => !filters.length || filters.some((f) => `test/${rel}`.includes(f)));
}

/** uvu's closing report (last one in the text), or null. Failed = Total - Passed. */
function parseReport(text) {
  const last = (key) => [...stripAnsi(text).matchAll(new RegExp(`^\\s*${key}:\\s+(\\d+)`, 'gm'))].at(-1)?.[1];
  const [total, passed, skipped] = ['Total', 'Passed', 'Skipped'].map(last);
  if (total === undefined || passed === undefined) return null;
  // A test that cannot run here (f16 on an adapter without shader-f16) passes in uvu's
  // eyes but logs '[skip] why' (test/helpers/gpu.ts): count it as skipped.
  const skips = (stripAnsi(text).match(/\[skip\] /g) ?? []).length;
  return { passed: +passed - skips, failed: +total - +passed, skipped: +(skipped ?? 0) + skips };
}

// Tests may log `adapter: ...`; uvu's suite name may precede it on the same line.
const firstAdapter = (text) => stripAnsi(text).match(/(?:^|\s)adapter:\s*(.+)$/m)?.[1]?.trim();

/** Per-suite totals, the failing files with their reasons, and the first adapter line. */
function newSuite(name) {
  return { name, files: 0, passed: 0, failed: 0, skipped: 0, failures: [], adapter: undefined, skippedReason: undefined };
}

/**
 * Adds one file's result. Any problem (a crash, a timeout, a page error...) makes the file
 * fail at least once; without a report it counts as 1 failure (or one per page error).
 */
function record(suite, file, report, problems, text, pageErrors = 0) {
  if (!report && !problems.length) problems.push('no uvu report in its output');
  let failed = report ? report.failed + pageErrors : Math.max(1, pageErrors);
  if (problems.length) failed = Math.max(failed, 1);
  suite.files++;
  suite.passed += report?.passed ?? 0;
  suite.skipped += report?.skipped ?? 0;
  suite.failed += failed;
  // Node files that drive Chromium (the app, the package) print the browser's adapter: not the Node suite's.
  const adapter = firstAdapter(text);
  if (adapter && !(suite.name === 'node' && adapter.includes('(browser'))) suite.adapter ??= adapter;
  for (const p of problems) out(`FAILED ${file}: ${p}\n`);
  const why = problems.length ? problems.map((p) => p.split('\n')[0]).join('; ') : `${failed} failed`;
  if (failed) suite.failures.push(`${file} (${suite.name}: ${why})`);
}

// ---------------------------------------------------------------- Node, one file at a time
// Lavapipe already uses every core, so files run one after another, each in a fresh process:
// a driver crash (SIGSEGV) then costs one file, not the suite.
const dawnNoise = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced/;

function runNodeFile(rel) {
  return new Promise((resolve) => {
    const env = { ...process.env };
    if (tty && env.FORCE_COLOR === undefined) env.FORCE_COLOR = '1'; // uvu's colours through the pipe
    const child = spawn(process.execPath, ['--enable-source-maps', join(nodeDir, rel)], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', errRest = '', timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s) => { stdout += s; out(s); });
    // stderr goes line by line so that Dawn's two warnings can be dropped.
    const errLine = (line) => dawnNoise.test(line) || process.stderr.write(line + '\n');
    child.stderr.setEncoding('utf8').on('data', (s) => {
      const lines = (errRest + s).split('\n');
      errRest = lines.pop();
      lines.forEach(errLine);
    });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (errRest) errLine(errRest);
      resolve({ stdout, code, signal, timedOut });
    });
  });
}

async function nodeSuite(files) {
  const suite = newSuite('node');
  for (const rel of files) {
    const file = `test/${rel}`;
    out(`\n=== [node] ${file}\n`);
    const { stdout, code, signal, timedOut } = await runNodeFile(rel);
    const report = parseReport(stdout), problems = [];
    if (timedOut) problems.push(`timed out after ${timeoutS} s`);
    else if (signal) problems.push(`killed by ${signal}`);
    // Exit code 1 is how uvu reports failed tests; anything else non-zero is a problem.
    else if (code !== 0 && !(code === 1 && report?.failed)) problems.push(`exit code ${code}${report ? '' : ' (no uvu report)'}`);
    record(suite, file, report, problems, stdout);
  }
  return suite;
}

// ---------------------------------------------------------------- browser, one page a file
const contentTypes = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.map': 'application/json', '.json': 'application/json', '.html': 'text/html', '.wasm': 'application/wasm' };
const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Serves dist/test/browser/ plus /run.html?file=<relative path>, on 127.0.0.1, a free port. */
async function startServer() {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const send = (status, type, body) => { res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }); res.end(body); };
    if (url.pathname === '/run.html') {
      const src = escapeHtml('/' + (url.searchParams.get('file') ?? '').split('/').map(encodeURIComponent).join('/'));
      // onerror fires when the module can't be fetched; the runner then stops waiting early.
      return send(200, 'text/html; charset=utf-8', `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>wgprune tests</title>\n` +
        `<script type="module" src="${src}" onerror="console.error('wgprune-runner: could not load ${src}')"></script>\n`);
    }
    const path = normalize(join(browserDir, decodeURIComponent(url.pathname)));
    if (!path.startsWith(browserDir + sep) || !existsSync(path) || !statSync(path).isFile()) return send(404, 'text/plain', 'not found');
    send(200, contentTypes[extname(path)] ?? 'application/octet-stream', readFileSync(path));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

// Only --enable-unsafe-webgpu is needed for an adapter (SwiftShader's Vulkan, bundled with
// Chromium; Playwright already adds --no-sandbox and --headless). The rest keeps the browser quiet.
const chromiumArgs = ['--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Runs one file in a fresh context; resolves with its console text and what went wrong. */
async function runBrowserFile(browser, base, rel) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const pieces = [], problems = [];
  let finish, quiet, pageErrors = 0;
  const done = new Promise((resolve) => { finish = resolve; });
  page.on('console', (msg) => {
    const text = msg.text(), type = msg.type();
    pieces.push(type === 'log' || type === 'info' ? text : `[console.${type}] ${text}`);
    if (text.includes('Duration:')) finish();
    else if (text.startsWith('wgprune-runner: ')) { problems.push(text.replace('wgprune-runner: ', '')); finish(); }
    if (quiet) quiet.refresh();
  });
  // A page error before uvu's report usually means the module never ran: stop once the page
  // has been silent for 10 s rather than waiting out the full timeout.
  page.on('pageerror', (err) => {
    pageErrors++;
    problems.push(`page error: ${err.stack || err.message}`);
    quiet ??= setTimeout(finish, 10_000);
  });
  page.on('crash', () => { problems.push('page crashed'); finish(); });
  const timer = setTimeout(() => { problems.push(`timed out after ${timeoutS} s`); finish(); }, timeoutS * 1000);
  try {
    await page.goto(`${base}/run.html?file=${encodeURIComponent(rel)}`);
    await done;
  } catch (err) {
    problems.push(`navigation failed: ${err.message}`);
  }
  clearTimeout(timer);
  clearTimeout(quiet);
  await context.close().catch(() => {});
  // uvu writes its report in pieces with console.log, none ending a line by itself; join them
  // back, giving a line of its own to any message that ends without whitespace (a test's log).
  let text = '';
  const plain = pieces.map(stripAnsi);
  pieces.forEach((p, i) => { text += p + (/\s$/.test(plain[i]) || plain[i + 1]?.startsWith('\n') ? '' : '\n'); });
  return { text, problems, pageErrors };
}

async function browserSuite(files) {
  const suite = newSuite('browser');
  const skip = (reason, isFailure) => {
    out(`browser suite skipped: ${reason}\n`);
    suite.skippedReason = reason;
    if (isFailure) suite.failed++, suite.failures.push(`browser suite (skipped under CI: ${reason})`);
    return suite;
  };
  if (process.env.WGPRUNE_NO_BROWSER === '1') return skip('WGPRUNE_NO_BROWSER=1', false);
  if (nodeOnly) return skip('--node-only', false);
  const mustRun = !!process.env.CI;
  if (!existsSync(chromiumPath)) return skip(`${chromiumPath} does not exist (set CHROMIUM_PATH)`, mustRun);
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (err) {
    return skip(`cannot load playwright-core: ${err.message}`, mustRun);
  }
  if (!files.length) return suite;
  const server = await startServer();
  const base = `http://127.0.0.1:${server.address().port}`;
  let browser;
  try {
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
    for (const rel of files) {
      const file = `test/${rel}`;
      out(`\n=== [browser] ${file}\n`);
      const { text, problems, pageErrors } = await runBrowserFile(browser, base, rel).catch((err) => ({ text: '', problems: [`runner error: ${err.message}`] }));
      out(text.endsWith('\n') || !text ? text : text + '\n');
      record(suite, file, parseReport(text), problems, text, pageErrors);
    }
  } catch (err) {
    out(`FAILED browser suite: ${err.message}\n`);
    suite.failed++;
    suite.failures.push(`browser suite (${err.message.split('\n')[0]})`);
  } finally {
    await browser?.close().catch(() => {});
    server.close();
  }
  return suite;
}

// ---------------------------------------------------------------- main
if (!existsSync(nodeDir) && !existsSync(browserDir)) {
  console.error('no dist/test: run node scripts/build.mjs first');
  process.exit(1);
}
const nodeFiles = browserOnly ? [] : testFiles(nodeDir);
const browserFiles = nodeOnly ? [] : testFiles(browserDir);
if (!nodeFiles.length && !browserFiles.length) {
  console.error(`no test files match${filters.length ? ` ${filters.join(', ')}` : ''}`);
  process.exit(1);
}

const suites = [];
if (!browserOnly) suites.push(await nodeSuite(nodeFiles));
suites.push(await browserSuite(browserFiles));

out('\n');
for (const s of suites) {
  const skipped = s.skipped ? `, ${s.skipped} skipped` : '';
  out(`${s.name}: ${s.skippedReason ? `skipped (${s.skippedReason})` : `${s.files} file(s)`}, ${s.passed} passed, ${s.failed} failed${skipped}\n`);
}
for (const s of suites) for (const f of s.failures) out(`  failed: ${f}\n`);
if (suites.some((s) => s.adapter)) out(`adapters: ${suites.map((s) => `${s.name}: ${s.adapter ?? 'n/a'}`).join(', ')}\n`);
const sum = (k) => suites.reduce((n, s) => n + s[k], 0);
const [passed, failed, skipped] = [sum('passed'), sum('failed'), sum('skipped')];
out(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exitCode = failed ? 1 : 0;
