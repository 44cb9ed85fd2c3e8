// The app's worker: owns the WebGPU device (navigator.gpu works in dedicated workers) and
// runs everything the CLI's `prune` runs (src/prune/report.ts: the sample set, a latency
// table for a latency constraint, pruneModel with tuning, the dev scores after each step,
// the unpruned and pruned forward latency, report.json and the pruned folder's files), then
// the sweep over constraints from the same Fisher pass. The page stays responsive; Cancel
// terminates this worker.
import { parseGlueTsv, type GlueData } from '../data/glue.js';
import { parseSquadJson, type SquadData } from '../data/squad.js';
import { taskName } from '../eval/task.js';
import { filesFolder, openModelFromFolder, type OpenedModel } from '../open.js';
import type { EncoderModel } from '../models/model.js';
import { masksFromFisher } from '../prune/masks.js';
import { countKept, isGlueTask, pruneJob, type PruneJob } from '../prune/report.js';
import { WgpruneError } from '../runtime/errors.js';
import { describeAdapter } from '../runtime/gpu.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';
import type { FileInput, FromWorker, JobRequest, Pictures, StepName, SweepPoint, ToWorker } from './protocol.js';
import { zipStore } from './zip.js';

interface WorkerScope {
  postMessage(message: FromWorker): void;
  addEventListener(type: 'message', fn: (e: MessageEvent<ToWorker>) => void): void;
  addEventListener(type: 'unhandledrejection', fn: (e: PromiseRejectionEvent) => void): void;
  location: { href: string };
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker) => scope.postMessage(m);

/** Where the build put the bundled demo (scripts/app.mjs), and the names the CLI's report would give its files. */
const demoBase = new URL('demo/', scope.location.href);
const DEMO = { modelName: 'models/sst2-mini', samples: 'data/glue/SST-2/train-2048.tsv', dev: 'data/glue/SST-2/dev.tsv' };

let runtimePromise: Promise<Runtime> | undefined;
const runtime = () => (runtimePromise ??= createRuntime());

async function fetchBlob(path: string): Promise<Blob> {
  const url = new URL(path, demoBase);
  let r: Response;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new WgpruneError(`the bundled demo's ${path} could not be fetched (${(e as Error).message}); serve the built folder over HTTP (npm run app)`);
  }
  if (!r.ok) throw new WgpruneError(`the bundled demo's ${path}: HTTP ${r.status}; build the app with npm run app, which copies the demo into the built folder`);
  return r.blob();
}

async function readData(task: ReturnType<typeof taskName>, input: FileInput, demoPath: string): Promise<{ data: GlueData | SquadData; name: string }> {
  const blob = input.kind === 'demo' ? await fetchBlob(demoPath) : input.file;
  const name = input.kind === 'demo' ? (demoPath.endsWith('dev.tsv') ? DEMO.dev : DEMO.samples) : input.file.name;
  const bytes = new Uint8Array(await blob.arrayBuffer());
  return { data: isGlueTask(task) ? parseGlueTsv(task, bytes, name) : parseSquadJson(bytes, name), name };
}

function quantiles(values: Float64Array, qs: number[]): number[] {
  const s = Float64Array.from(values).sort();
  return qs.map((q) => s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!);
}

function pictures(job: { result: PruneJob['result'] }, m: EncoderModel): Pictures {
  const c = m.config, L = c.layers, r = job.result, f = r.found.fisher;
  const headFisher = Array.from({ length: L }, (_, l) => Array.from(f.head.subarray(l * c.heads, (l + 1) * c.heads)));
  const neuronQuantiles: number[][] = [], neuronShareKept: number[] = [];
  for (let l = 0; l < L; l++) {
    const v = f.neuron.subarray(l * c.intermediate, (l + 1) * c.intermediate);
    neuronQuantiles.push(quantiles(v, [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1]));
    let all = 0, kept = 0;
    v.forEach((x, i) => { all += x; if (r.masks.neuron[l]![i] !== 0) kept += x; });
    neuronShareKept.push(all > 0 ? kept / all : 0);
  }
  return {
    layers: L, heads: c.heads, intermediate: c.intermediate,
    headsKept: countKept(r.masks.head), neuronsKept: countKept(r.masks.neuron),
    headFisher, headKeptMask: r.masks.head.map((l) => l.map((v) => v !== 0)),
    neuronQuantiles, neuronShareKept,
  };
}

let current: StepName | undefined;
const step = (s: StepName, info: string) => { current = s; post({ type: 'step', step: s, info }); };

async function prune(req: JobRequest): Promise<void> {
  const rt = await runtime();
  step('load', 'reading the data files and the model');
  const task = taskName(req.task);
  const samples = await readData(task, req.samples, 'SST-2/train-2048.tsv');
  const dev = req.dev ? await readData(task, req.dev, 'SST-2/dev.tsv') : undefined;
  if (dev && req.devLimit) dev.data.examples.splice(req.devLimit);
  const started = performance.now();
  let opened: OpenedModel | undefined, job: PruneJob | undefined, pruned: EncoderModel | undefined;
  try {
    let files: Map<string, Blob>, name: string;
    if (req.model.kind === 'demo') {
      const manifest = JSON.parse(await (await fetchBlob('sst2-mini/manifest.json')).text()) as string[];
      files = new Map(await Promise.all(manifest.map(async (f) => [f, await fetchBlob(`sst2-mini/${f}`)] as const)));
      name = DEMO.modelName;
    } else {
      files = new Map(req.model.files.map((f) => [f.name, f]));
      name = req.model.name;
    }
    opened = await openModelFromFolder(rt, filesFolder(files, name));
    const c = opened.config;
    post({ type: 'log', text: `model: ${c.architecture}, ${c.layers} layers, hidden ${c.hidden}, ${c.heads} heads, FFN ${c.intermediate} (${opened.format})` });
    const model = opened.model;
    job = await pruneJob({
      model, tokenizer: opened.tokenizer, configJson: opened.configJson, format: opened.format, folder: opened.folder,
      modelName: name, samplesName: samples.name, samples: samples.data, ...(dev ? { dev: dev.data } : {}), started,
    }, { task, constraint: req.constraint, sampleCount: req.sampleCount, seed: req.seed, metric: req.metric }, {
      onStep: (s, info) => step(s, info),
      onProgress: (what, done, total) => post({ type: 'progress', what, done, total }),
      onSamples: (s) => post({ type: 'log', text: `samples: ${s.examples} ${isGlueTask(task) ? 'examples' : 'features'} from ${s.drawnFrom} in ${s.batches.length} batches (seed ${req.seed}); cost model at ${s.seqLen.toFixed(2)} tokens` }),
      onKernels: (k) => post({ type: 'log', text: k.line }),
      onPruned: (result) => post({ type: 'pictures', pictures: pictures({ result }, model) }),
    }, { files: true });
    pruned = job.pruned;
    const base = (name.split('/').filter(Boolean).pop() ?? 'model').replace(/[^\w.-]+/g, '_');
    const reportJson = new TextDecoder().decode(job.files!.get('report.json')![0]!);
    const zip = new Blob(zipStore(job.files!, `${base}-pruned`) as Uint8Array<ArrayBuffer>[], { type: 'application/zip' });
    post({ type: 'report', report: job.report, zip, zipName: `${base}-pruned.zip`, reportJson });

    if (req.sweep.length && job.scorer) {
      step('sweep', `${req.sweep.length} constraints: search and rearrangement from the same Fisher pass, scored on the dev set`);
      const shape = { layers: c.layers, heads: c.heads, hidden: c.hidden, intermediate: c.intermediate, seqLen: job.seqLen };
      // With a latency constraint, the sweep's constraints are fractions of the latency too, by the same table.
      const points: SweepPoint[] = [];
      for (const constraint of req.sweep) {
        let point: SweepPoint;
        try {
          const found = masksFromFisher(job.result.found.fisher, shape, constraint, job.lut);
          const scores = await job.scorer.score(`sweep ${constraint}`, { masks: { head: found.head, neuron: found.neuron } });
          point = { constraint, fraction: found.search.fraction, heads: found.search.heads, neurons: found.search.neurons, ...(scores as Partial<SweepPoint>) };
        } catch (e) {
          if (!(e instanceof WgpruneError) || e.name === 'DeviceLostError' || e.name === 'KernelError') throw e;
          point = { constraint, fraction: 0, heads: 0, neurons: 0, error: (e as Error).message };
        }
        points.push(point);
        post({ type: 'sweep', points: [...points] });
      }
    } else if (req.sweep.length) {
      post({ type: 'log', text: 'sweep: skipped, it scores each constraint on a dev set: give a dev file' });
    }

    post({ type: 'done' });
  } finally {
    pruned?.dispose();
    opened?.model.dispose();
  }
}

const errorMessage = (e: unknown) => ({ name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) });

scope.addEventListener('message', (e) => {
  if (e.data.type !== 'prune') return;
  current = undefined;
  prune(e.data.job).catch((err: unknown) => {
    console.error(err);
    post({ type: 'error', ...errorMessage(err), ...(current ? { step: current } : {}) });
  });
});
scope.addEventListener('unhandledrejection', (e) => {
  post({ type: 'error', ...errorMessage(e.reason), ...(current ? { step: current } : {}) });
});

// The adapter, as soon as the worker starts: the page shows it before any run.
runtime().then(
  (rt) => post({
    type: 'adapter', ok: true,
    adapter: { text: describeAdapter(rt.adapter), software: rt.adapter.software, limits: { ...rt.limits }, features: { ...rt.features } },
  }),
  (e: unknown) => { runtimePromise = undefined; post({ type: 'adapter', ok: false, ...errorMessage(e) }); },
);
