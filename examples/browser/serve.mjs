// Serves this folder, and the model that ships inside the installed wgprune package under
// /model/, on http://127.0.0.1:PORT/ (PORT from the environment, default 8080; 0 picks one).
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const model = join(dirname(fileURLToPath(import.meta.resolve('wgprune/package.json'))), 'models', 'sst2-mini');
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8' };

const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
  const [base, rel] = path.startsWith('/model/') ? [model, path.slice('/model/'.length)] : [here, path === '/' ? 'index.html' : path.slice(1)];
  const file = normalize(join(base, rel));
  const ok = file.startsWith(base + sep) && statSync(file, { throwIfNoEntry: false })?.isFile();
  if (!ok) { res.writeHead(404).end('not found'); return; }
  res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
});
server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${server.address().port}/`);
});
