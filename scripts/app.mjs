// The web app (src/app/): builds it into a static folder and serves it on 127.0.0.1.
//
//   npm run app [-- --port N] [--out DIR] [--build-only | --no-build]
//
// The folder (default dist/app/) holds index.html, main.js (the page), worker.js (the worker
// that prunes on navigator.gpu), style.css, and the bundled demo (models/sst2-mini and
// SST-2's train-2048.tsv and dev.tsv under demo/): any static host can serve it as it is.
// --port 0 picks a free port. The address is printed on its own line: http://127.0.0.1:PORT/
import { build } from 'esbuild';
import { copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Bundles the page and the worker, copies the static files and the demo's model and data. */
export async function buildApp(outdir = join(root, 'dist/app')) {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'linked',
    // Error classes keep their names (the page's hints go by them) where a bundle renames clashing ones.
    keepNames: true,
    logLevel: 'warning',
    // Dawn's module and Node's built-ins are only reached behind checks in Node.
    external: ['webgpu', 'node:*'],
    outdir,
    entryPoints: { main: join(root, 'src/app/main.ts'), worker: join(root, 'src/app/worker.ts') },
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'src/app', f), join(outdir, f));
  const model = join(root, 'models/sst2-mini'), demoModel = join(outdir, 'demo/sst2-mini');
  mkdirSync(demoModel, { recursive: true });
  const files = readdirSync(model).filter((f) => statSync(join(model, f)).isFile()).sort();
  for (const f of files) copyFileSync(join(model, f), join(demoModel, f));
  writeFileSync(join(demoModel, 'manifest.json'), JSON.stringify(files) + '\n');
  mkdirSync(join(outdir, 'demo/SST-2'), { recursive: true });
  for (const f of ['train-2048.tsv', 'dev.tsv']) copyFileSync(join(root, 'data/glue/SST-2', f), join(outdir, 'demo/SST-2', f));
  return outdir;
}

const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json',
  '.json': 'application/json', '.tsv': 'text/tab-separated-values; charset=utf-8', '.txt': 'text/plain; charset=utf-8', '.md': 'text/markdown; charset=utf-8',
};

/** Serves `dir` on 127.0.0.1:port; resolves with the server once it listens. */
export function serveApp(dir, port = 8080) {
  const base = resolve(dir);
  const server = createServer((req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      res.writeHead(400).end('bad path');
      return;
    }
    const file = normalize(join(base, path.endsWith('/') ? `${path}index.html` : path));
    const st = file.startsWith(base + sep) && existsSync(file) ? statSync(file) : null;
    if (!st?.isFile()) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'); return; }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'content-length': st.size, 'cache-control': 'no-cache' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolvePromise(server));
  });
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const { values } = parseArgs({ options: { port: { type: 'string' }, out: { type: 'string' }, 'build-only': { type: 'boolean' }, 'no-build': { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log('usage: npm run app [-- --port N] [--out DIR] [--build-only | --no-build]\n\nBuilds the web app into DIR (default dist/app) and serves it on http://127.0.0.1:N/ (default 8080; 0 picks a free port).');
    process.exit(0);
  }
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) { console.error(`--port must be a port number, got "${values.port}"`); process.exit(2); }
  const out = resolve(values.out ?? join(root, 'dist/app'));
  if (!values['no-build']) {
    const t0 = performance.now();
    await buildApp(out);
    console.error(`built ${out} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } else if (!existsSync(join(out, 'index.html'))) {
    console.error(`${out} has no index.html: build it first (drop --no-build)`);
    process.exit(1);
  }
  if (!values['build-only']) {
    try {
      const server = await serveApp(out, port);
      console.log(`http://127.0.0.1:${server.address().port}/`);
      console.error('serving the app (Ctrl-C stops); WebGPU needs Chrome or Edge 113+, or Chromium with --enable-unsafe-webgpu');
    } catch (e) {
      console.error(e.code === 'EADDRINUSE' ? `port ${port} is in use: choose another with --port N` : `cannot serve: ${e.message}`);
      process.exit(1);
    }
  }
}
