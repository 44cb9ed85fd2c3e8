// The matmul benchmarks in a page (headless Chromium; scripts/bench-browser.mjs serves and
// drives it): wgprune and the WebGPU peers on navigator.gpu. Options come from the query
// string (?time=MS&repeat=N&filter=TEXT&peers=LIST&ortWasm=PATH); the result is the promise at
// globalThis.wgpruneBench. With ?latency=1 (&batches=1&bigBatches=1&models=sst2-mini), the
// latency of pruned models instead (bench/latency.ts), sst2-mini fetched from /models/.
import { openCheckpoint } from '../src/io/checkpoint.js';
import { blobSource, type ByteSource } from '../src/io/source.js';
import { loadModel } from '../src/models/load.js';
import { describeAdapter } from '../src/runtime/gpu.js';
import { createRuntime } from '../src/runtime/runtime.js';
import type { MatmulKernel } from '../src/ops/matmul.js';
import { matmulCases, matmulJobs } from './matmul.js';
import { combineRounds, measure, type Job, type Record } from './measure.js';
import { ortWebJobs } from './peers/ort-web.js';
import { tfjsJobs } from './peers/tfjs.js';
import type { PeerSetup } from './peers/types.js';
import { benchLatency, type LoadSst2Mini } from './latency.js';

export interface BrowserResult {
  adapter: string;
  records: Record[];
  skipped: string[];
  /** ?latency=1: the adapter line and the markdown table, as printed. */
  latency?: string;
}

/** sst2-mini from the page's server (scripts/bench-browser.mjs serves the repo's models/). */
const loadSst2Mini: LoadSst2Mini = async (rt) => {
  const files = new Map<string, ByteSource>();
  for (const f of ['config.json', 'model.safetensors']) {
    const res = await fetch(`/models/sst2-mini/${f}`);
    if (!res.ok) throw new Error(`/models/sst2-mini/${f}: HTTP ${res.status}`);
    files.set(f, blobSource(await res.blob(), f));
  }
  const ck = await openCheckpoint(files, 'sst2-mini');
  const m = await loadModel(rt, ck);
  await ck.close();
  return { model: m.model, json: ck.config };
};

async function latency(params: URLSearchParams): Promise<BrowserResult> {
  const list = (key: string, dflt: string) => (params.get(key) ?? dflt).split(',').filter(Boolean);
  const rt = await createRuntime();
  const adapter = describeAdapter(rt.adapter);
  console.log(`adapter: ${adapter}`);
  const table = await benchLatency(rt, {
    batches: list('batches', '1').map(Number), bigBatches: list('bigBatches', '1').map(Number),
    models: list('models', 'sst2-mini'), loadSst2Mini,
  });
  rt.destroy();
  return { adapter, records: [], skipped: [], latency: table };
}

async function main(): Promise<BrowserResult> {
  const params = new URLSearchParams(location.search);
  if (params.get('latency')) return latency(params);
  const timeMs = Number(params.get('time') ?? '2000');
  const repeat = Number(params.get('repeat') ?? '1');
  const filter = params.get('filter') ?? undefined;
  const peers = (params.get('peers') ?? 'tfjs-webgpu,ort-web-webgpu').split(',').filter((p) => p && p !== 'none');
  const kernel = params.get('kernel');
  const rt = await createRuntime(kernel ? { tuning: { matmulKernel: kernel as MatmulKernel } } : {});
  const adapter = describeAdapter(rt.adapter);
  console.log(`adapter: ${adapter}`);
  const cases = matmulCases(filter, (params.get('shapes') ?? 'default').split(','));
  const ours = matmulJobs(rt, cases, adapter, 'browser');
  const setups: PeerSetup[] = [];
  const skipped: string[] = [];
  const setUp: { [name: string]: () => Promise<PeerSetup> } = {
    'tfjs-webgpu': () => tfjsJobs(cases),
    'ort-web-webgpu': () => ortWebJobs(cases, { wasmPaths: params.get('ortWasm') ?? '/ort/' }),
  };
  for (const name of peers) {
    const make = setUp[name];
    if (!make) {
      skipped.push(`${name}: not available in the browser`);
      continue;
    }
    try {
      setups.push(await make());
    } catch (err) {
      const why = (err as Error).message.split('\n')[0] ?? String(err);
      skipped.push(`${name}: ${why}`);
      console.log(`skipped peer ${name}: ${why}`);
    }
  }
  // The driver waits until Chromium's processes are nearly idle (see bench/settle.ts).
  const settle = (globalThis as { wgpruneSettle?: () => Promise<number> }).wgpruneSettle;
  const waited = settle ? await settle() : 0;
  if (waited > 2) console.log(`waited ${waited.toFixed(0)} s for background work to end (V8 compiling ORT's WebAssembly) before measuring`);
  const jobs: Job[] = cases.flatMap((mc) => [ours, ...setups].flatMap((s) => s.jobs.filter((j) => j.shape === mc.shape && j.benchmark === mc.benchmark)));
  const log = (line: string) => { console.log(line); skipped.push(line.replace(/^skipped /, '')); };
  const rounds: Record[][] = [];
  for (let i = 1; i <= repeat; i++) {
    if (repeat > 1) console.log(`round ${i} of ${repeat}`);
    rounds.push(await measure(jobs, { timeMs, log }));
  }
  const records = combineRounds(rounds);
  for (const s of setups) await s.dispose();
  for (const t of ours.inputs) t.dispose();
  rt.destroy();
  return { adapter, records, skipped };
}

(globalThis as { wgpruneBench?: Promise<BrowserResult> }).wgpruneBench = main();
