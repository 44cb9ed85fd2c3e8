// The app's page: inputs, progress, pictures and downloads. All the work happens in a worker
// (src/app/worker.ts), so the page stays responsive and Cancel can end it at once.
//
// Automated runs: /?demo&constraint=C&samples=N&seed=S[&dev=LIMIT][&sweep=LIST|none][&metric=latency]
// prunes the bundled demo without a click. document.documentElement.dataset.state is
// 'running', then 'done', 'error' (the message is on the page) or 'cancelled';
// window.wgprune.report holds what report.json holds.
import { parseConfig } from '../models/config.js';
import { keptBars, headHeatmap, latencyChart, neuronSummary, sweepCharts } from './charts.js';
import { STEPS, STEP_LABELS, type AdapterInfo, type FromWorker, type JobRequest, type Latency, type Pictures, type StepName, type SweepPoint } from './protocol.js';

type State = 'idle' | 'running' | 'done' | 'error' | 'cancelled';

interface AppGlobal {
  state: State;
  adapter?: AdapterInfo;
  report?: Record<string, unknown>;
  reportJson?: string;
  zip?: Blob;
  pictures?: Pictures;
  sweep?: SweepPoint[];
  latency?: Latency;
  error?: { name: string; message: string; step?: StepName };
}

const app: AppGlobal = { state: 'idle' };
(window as unknown as { wgprune: AppGlobal }).wgprune = app;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const el = {
  adapter: $<HTMLDivElement>('adapter'),
  demo: $<HTMLButtonElement>('demo'),
  run: $<HTMLButtonElement>('run'),
  cancel: $<HTMLButtonElement>('cancel'),
  drop: $<HTMLDivElement>('drop'),
  pickDir: $<HTMLButtonElement>('pick-dir'),
  modelFiles: $<HTMLInputElement>('model-files'),
  modelDir: $<HTMLInputElement>('model-dir'),
  modelSummary: $<HTMLDivElement>('model-summary'),
  task: $<HTMLSelectElement>('task'),
  samplesFile: $<HTMLInputElement>('samples-file'),
  devFile: $<HTMLInputElement>('dev-file'),
  constraint: $<HTMLInputElement>('constraint'),
  constraintOut: $<HTMLOutputElement>('constraint-out'),
  samples: $<HTMLInputElement>('samples'),
  seed: $<HTMLInputElement>('seed'),
  devLimit: $<HTMLInputElement>('dev-limit'),
  sweepOn: $<HTMLInputElement>('sweep-on'),
  sweep: $<HTMLInputElement>('sweep'),
  metric: $<HTMLSelectElement>('metric'),
  message: $<HTMLDivElement>('message'),
  steps: $<HTMLOListElement>('steps'),
  log: $<HTMLPreElement>('log'),
  results: $<HTMLElement>('results'),
  summary: $<HTMLDivElement>('summary'),
  figKept: $<HTMLElement>('fig-kept'),
  figHeads: $<HTMLElement>('fig-heads'),
  figNeurons: $<HTMLElement>('fig-neurons'),
  figLatency: $<HTMLElement>('fig-latency'),
  figSweepMetric: $<HTMLElement>('fig-sweep-metric'),
  figSweepFidelity: $<HTMLElement>('fig-sweep-fidelity'),
};

function setState(s: State): void {
  app.state = s;
  document.documentElement.dataset.state = s;
  const busy = s === 'running';
  el.run.disabled = busy;
  el.demo.disabled = busy;
  el.cancel.disabled = !busy;
}

// ------------------------------------------------------------------ messages and hints

/** What to do about an error, by its class and text. */
function hint(name: string, message: string): string {
  if (/no config\.json/.test(message)) return 'Pick the Hugging Face model folder itself: the one holding config.json, the weights (model.safetensors, its shards with model.safetensors.index.json, or pytorch_model.bin) and the tokenizer files.';
  if (name === 'WeightsNotFoundError') return 'The folder needs its weights: model.safetensors, sharded safetensors with model.safetensors.index.json, or pytorch_model.bin. TensorFlow, Flax and ONNX weights are not read: convert them to safetensors.';
  if (/architectures|model_type|not supported/.test(message) && name === 'ModelError') return 'wgprune prunes BERT, DistilBERT and RoBERTa with a sequence-classification or question-answering head (the architectures listed above).';
  if (name === 'CheckpointError' || name === 'UnsupportedCheckpointError' || /shape|tensor/.test(message) && name === 'ModelError') return 'The weights do not agree with config.json: the folder may mix files of two models, or a download was cut short. Download the model folder again.';
  if (name === 'TokenizerError') return 'The tokenizer files are missing or damaged: BERT needs vocab.txt (with tokenizer_config.json) or tokenizer.json; RoBERTa tokenizer.json, or vocab.json with merges.txt.';
  if (name === 'DataError') return 'Check the task and the files: the training and dev files must be that task\'s GLUE TSV (train.tsv, dev.tsv) or, for SQuAD, its JSON.';
  if (name === 'DeviceLostError') return 'The GPU device was lost (a driver reset, or the GPU ran out of memory). A fresh device has been started: press Prune again. Closing other tabs that use the GPU, fewer samples or a smaller model make it less likely.';
  if (/out of memory|OutOfMemory|allocation failed|Array buffer allocation/i.test(message) || name === 'LimitError') return 'Out of memory: use fewer samples or dev examples, or a smaller model, and close other tabs that use the GPU.';
  if (name === 'NoAdapterError') return 'See the adapter box above for how to get WebGPU.';
  if (/needs a (question-answering|sequence-classification) model/.test(message)) return 'Choose the task the model was fine-tuned for.';
  return '';
}

function showMessage(title: string, message: string, name = 'Error', kind: 'error' | 'info' = 'error'): void {
  const h = kind === 'error' ? hint(name, message) : '';
  el.message.hidden = false;
  el.message.className = kind === 'info' ? 'info' : '';
  el.message.innerHTML = `<b>${esc(title)}</b> ${esc(message)}${h ? `<div class="hint">${esc(h)}</div>` : ''}`;
}

function clearMessage(): void {
  el.message.hidden = true;
  el.message.textContent = '';
}

const log = (line: string) => { el.log.textContent += `${line}\n`; };

// ------------------------------------------------------------------ the adapter

const noWebGpuHelp = 'This browser exposes no WebGPU (navigator.gpu is missing). Use Chrome or Edge 113 or newer (on Linux, Chrome with chrome://flags/#enable-unsafe-webgpu and Vulkan enabled; ' +
  'headless Chromium needs --enable-unsafe-webgpu), or Safari 26 / Firefox 141 or newer. The page must come from https:// or from localhost / 127.0.0.1.';

function showAdapter(m: Extract<FromWorker, { type: 'adapter' }>): void {
  if (m.ok) {
    app.adapter = m.adapter;
    const l = m.adapter.limits, mib = (v: number) => `${(v / 2 ** 20).toLocaleString('en-US', { maximumFractionDigits: 0 })} MiB`;
    const rows: [string, string][] = [
      ['largest storage binding', mib(l.maxStorageBufferBindingSize!)], ['largest buffer', mib(l.maxBufferSize!)],
      ['invocations per workgroup', String(l.maxComputeInvocationsPerWorkgroup)], ['workgroup memory', `${(l.maxComputeWorkgroupStorageSize! / 1024).toFixed(0)} KiB`],
      ['workgroups per dimension', l.maxComputeWorkgroupsPerDimension!.toLocaleString('en-US')], ['texture side', `${l.maxTextureDimension2D!.toLocaleString('en-US')} texels`],
      ['features', Object.entries(m.adapter.features).map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`).join(', ')],
    ];
    el.adapter.className = 'card adapter ok';
    el.adapter.innerHTML = `<b>WebGPU adapter:</b> ${esc(m.adapter.text)}` +
      (m.adapter.software ? ' <span class="muted">(a software rasterizer on the CPU: it works, slowly; a GPU is many times faster)</span>' : '') +
      `<details><summary>limits</summary><table>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table></details>`;
  } else {
    el.adapter.className = 'card adapter bad';
    const why = !('gpu' in navigator) ? noWebGpuHelp
      : `${m.message} Check chrome://gpu for why WebGPU is off (a blocklisted GPU or driver: update the GPU driver, or start the browser with --enable-unsafe-webgpu).`;
    el.adapter.innerHTML = `<b>No WebGPU adapter.</b> ${esc(why)}`;
  }
}

// ------------------------------------------------------------------ the worker

let worker: Worker;
let pendingRun: JobRequest | undefined;
let adapterKnown = false;

function startWorker(): void {
  adapterKnown = false;
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'wgprune' });
  worker.onmessage = (e: MessageEvent<FromWorker>) => onWorker(e.data);
  worker.onerror = (e) => {
    e.preventDefault();
    fail({ name: 'Error', message: `the worker failed: ${e.message || 'it could not be loaded'}` });
  };
}

// ------------------------------------------------------------------ progress

interface StepView { li: HTMLLIElement; started?: number }
let stepViews = new Map<StepName, StepView>();
let currentStep: StepName | undefined;

function resetSteps(): void {
  el.steps.innerHTML = '';
  stepViews = new Map();
  currentStep = undefined;
  for (const s of STEPS) {
    const li = document.createElement('li');
    li.className = 'pending';
    li.dataset.step = s;
    li.innerHTML = `${esc(STEP_LABELS[s])}<span class="time"></span><span class="what"></span>`;
    el.steps.append(li);
    stepViews.set(s, { li });
  }
}

function finishStep(status: 'done' | 'failed'): void {
  if (!currentStep) return;
  const v = stepViews.get(currentStep)!;
  v.li.className = status;
  v.li.querySelector('progress')?.remove();
  v.li.querySelector<HTMLElement>('.what')!.textContent = '';
  if (v.started !== undefined) v.li.querySelector<HTMLElement>('.time')!.textContent = `${((performance.now() - v.started) / 1000).toFixed(1)} s`;
  currentStep = undefined;
}

function beginStep(s: StepName, info: string): void {
  finishStep('done');
  const v = stepViews.get(s)!;
  v.li.className = 'running';
  v.started = performance.now();
  v.li.querySelector<HTMLElement>('.what')!.textContent = info;
  currentStep = s;
}

function showProgress(what: string, done: number, total: number): void {
  if (!currentStep) return;
  const li = stepViews.get(currentStep)!.li;
  let bar = li.querySelector('progress');
  if (!bar) { bar = document.createElement('progress'); li.insertBefore(bar, li.querySelector('.what')); }
  bar.max = total;
  bar.value = done;
  li.querySelector<HTMLElement>('.what')!.textContent = `${done} / ${total} ${what}`;
}

function endSteps(): void {
  for (const [, v] of stepViews) if (v.li.className === 'pending') { v.li.className = 'skipped'; v.li.querySelector<HTMLElement>('.time')!.textContent = 'not run'; }
}

// ------------------------------------------------------------------ results

const num = (v: unknown, d = 4) => (typeof v === 'number' ? v.toFixed(d) : '–');
const mainMetric = (r: Record<string, unknown>) => {
  const full = (r.dev as { full?: Record<string, number> } | undefined)?.full;
  return full ? Object.keys(full)[0] : undefined;
};

function renderSummary(r: Record<string, unknown>, reportJson: string, zip: Blob, zipName: string): void {
  const model = r.model as { architecture: string; layers: number; heads: number; intermediate: number; path: string };
  const kept = r.kept as { heads: number; neurons: number; headsPerLayer: number[]; neuronsPerLayer: number[] };
  const cost = r.costModel as { fraction: number; seqLen: number };
  const size = r.size as { parametersBefore: number; parametersAfter: number; weightBytesBefore: number; weightBytesAfter?: number };
  const secs = r.seconds as Record<string, number>;
  const dev = r.dev as Record<string, { metrics?: Record<string, number>; agreement?: number; meanKL?: number; meanSquaredDifference?: number } | number | Record<string, number>> | undefined;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const byLatency = r.metric === 'latency', predicted = (r.latencyTable as { predicted?: { fraction: number } } | undefined)?.predicted;
  const lat = r.latency as Latency | undefined;
  const limit = `limit ${Number(((r.constraint as number) * 100).toFixed(1))}%`;
  let html = `<h2>Result</h2><p class="big">Kept <b>${(cost.fraction * 100).toFixed(1)}%</b> of the encoder's MACs (${byLatency ? '' : `${limit}, `}at ${cost.seqLen.toFixed(2)} tokens)` +
    (byLatency && predicted ? `, <b>${(predicted.fraction * 100).toFixed(1)}%</b> of its latency by the table measured here (${limit})` : '') + ': ' +
    `<b>${kept.heads}</b> of ${model.layers * model.heads} heads, <b>${kept.neurons.toLocaleString('en-US')}</b> of ${(model.layers * model.intermediate).toLocaleString('en-US')} neurons. ` +
    `${(size.parametersBefore / 1e6).toFixed(2)} M → ${(size.parametersAfter / 1e6).toFixed(2)} M parameters; weights ${mib(size.weightBytesBefore)}${size.weightBytesAfter ? ` → ${mib(size.weightBytesAfter)} (float32)` : ''}` +
    (lat ? `; forward ${lat.unprunedMs.toFixed(1)} → ${lat.prunedMs.toFixed(1)} ms (${lat.batch} × ${lat.seq} tokens, measured in this tab)` : '') + '.</p>';
  html += `<p class="muted">${esc(model.architecture)} from ${esc(model.path)}; ${esc(String((r.samples as { examples: number }).examples))} samples, seed ${esc(String((r.samples as { seed: number }).seed))}; ` +
    `Fisher ${num(secs.fisher, 1)} s, search ${num(secs.search, 2)} s, rearrangement ${num(secs.rearrange, 2)} s, tuning ${num(secs.tune, 1)} s, export ${num(secs.export, 2)} s; total ${num(secs.total, 1)} s.</p>`;
  if (dev) {
    const metric = mainMetric(r)!;
    const full = dev.full as Record<string, number>;
    const rows: [string, string][] = [['after search', 'afterSearch'], ['+ rearrangement', 'afterRearrangement'], ['+ tuning (the pruned model)', 'afterTuning'], ['the pruned model', 'prunedModel']];
    html += `<table><tr><th>dev set (${dev.examples} examples)</th>${Object.keys(full).map((k) => `<th>${esc(k)}</th>`).join('')}<th>agreement</th><th>mean KL (nats)</th></tr>`;
    html += `<tr><td>unpruned</td>${Object.values(full).map((v) => `<td>${num(v)}</td>`).join('')}<td>–</td><td>–</td></tr>`;
    for (const [label, key] of rows) {
      const d = dev[key] as { metrics: Record<string, number>; agreement?: number; meanKL?: number; meanSquaredDifference?: number } | undefined;
      if (!d) continue;
      html += `<tr><td>${label}</td>${Object.keys(full).map((k) => `<td>${num(d.metrics[k])}</td>`).join('')}<td>${num(d.agreement)}</td><td>${d.meanKL !== undefined ? num(d.meanKL) : d.meanSquaredDifference !== undefined ? `${num(d.meanSquaredDifference)} (MSD)` : '–'}</td></tr>`;
    }
    html += '</table>';
    void metric;
  }
  const zipUrl = URL.createObjectURL(zip), reportUrl = URL.createObjectURL(new Blob([reportJson], { type: 'application/json' }));
  html += `<div class="downloads"><a class="button" id="download-zip" href="${zipUrl}" download="${esc(zipName)}">Download the pruned model (${esc(zipName)}, ${mib(zip.size)})</a>` +
    `<a class="button" id="download-report" href="${reportUrl}" download="report.json">Download report.json</a></div>`;
  el.summary.innerHTML = html;
}

function renderPictures(p: Pictures): void {
  el.results.hidden = false;
  el.figKept.innerHTML = keptBars(p);
  el.figHeads.innerHTML = headHeatmap(p);
  el.figNeurons.innerHTML = neuronSummary(p);
}

function renderSweep(points: SweepPoint[]): void {
  const r = app.report, metric = r ? mainMetric(r) : undefined;
  if (!metric) return;
  const dev = r!.dev as { full: Record<string, number>; afterTuning?: { metrics: Record<string, number>; meanKL?: number; meanSquaredDifference?: number; agreement?: number }; prunedModel?: { metrics: Record<string, number>; meanKL?: number; meanSquaredDifference?: number; agreement?: number } };
  const pruned = dev.afterTuning ?? dev.prunedModel;
  const fraction = (r!.costModel as { fraction: number }).fraction;
  const charts = sweepCharts(points, metric, dev.full[metric], pruned ? { fraction, metric: pruned.metrics[metric]!, ...(() => { const f = pruned.meanKL ?? pruned.meanSquaredDifference ?? pruned.agreement; return f !== undefined ? { fidelity: f } : {}; })() } : undefined);
  const bad = points.filter((p) => p.error);
  if (charts.length) {
    el.figSweepMetric.hidden = el.figSweepFidelity.hidden = false;
    el.figSweepMetric.innerHTML = charts[0]! + (bad.length ? `<figcaption class="muted">${bad.map((p) => esc(`${p.constraint}: ${p.error}`)).join('<br>')}</figcaption>` : '');
    el.figSweepFidelity.innerHTML = charts[1]!;
  }
}

function fail(err: { name: string; message: string; step?: StepName }): void {
  app.error = err;
  finishStep('failed');
  endSteps();
  showMessage(err.step ? `${STEP_LABELS[err.step]} failed:` : 'Failed:', err.message, err.name);
  setState('error');
  // A lost or failed device cannot be reused: a fresh worker gets a fresh one.
  if (err.name === 'DeviceLostError' || err.name === 'KernelError' || /worker failed/.test(err.message)) {
    worker.terminate();
    startWorker();
  }
}

function onWorker(m: FromWorker): void {
  switch (m.type) {
    case 'adapter':
      adapterKnown = true;
      showAdapter(m);
      if (pendingRun) {
        const job = pendingRun;
        pendingRun = undefined;
        if (m.ok) worker.postMessage({ type: 'prune', job });
        else fail({ name: m.name, message: m.message });
      }
      return;
    case 'step': beginStep(m.step, m.info); return;
    case 'progress': showProgress(m.what, m.done, m.total); return;
    case 'log': log(m.text); return;
    case 'pictures': app.pictures = m.pictures; renderPictures(m.pictures); return;
    case 'report':
      app.report = m.report;
      app.reportJson = m.reportJson;
      app.zip = m.zip;
      app.latency = m.report.latency as Latency;
      renderSummary(m.report, m.reportJson, m.zip, m.zipName);
      el.figLatency.hidden = false;
      el.figLatency.innerHTML = latencyChart(app.latency);
      return;
    case 'sweep': app.sweep = m.points; renderSweep(m.points); return;
    case 'done': finishStep('done'); endSteps(); setState('done'); return;
    case 'error': fail(m); return;
  }
}

// ------------------------------------------------------------------ inputs

let modelFiles: File[] = [];
let modelName = '';

/** Shows what the picked folder holds, from its config.json; problems are shown at once. */
async function setModelFiles(files: File[], name: string): Promise<void> {
  modelFiles = files;
  modelName = name;
  clearMessage();
  const total = files.reduce((s, f) => s + f.size, 0);
  const head = `<b>${esc(name)}</b>: ${files.length} file${files.length === 1 ? '' : 's'}, ${(total / 2 ** 20).toFixed(1)} MiB`;
  const config = files.find((f) => f.name === 'config.json');
  if (!config) {
    el.modelSummary.innerHTML = `${head}. <span style="color:var(--red)">No config.json.</span>`;
    showMessage('This folder cannot be pruned:', `${name}: no config.json among ${files.map((f) => f.name).join(', ') || 'no files'}.`, 'WeightsNotFoundError');
    return;
  }
  try {
    const c = parseConfig(JSON.parse(await config.text()), `${name}/config.json`);
    el.modelSummary.innerHTML = `${head}. ${esc(c.architecture)}: ${c.layers} layers, hidden ${c.hidden}, ${c.heads} heads, FFN ${c.intermediate}.`;
    const ft = (JSON.parse(await config.text()) as { finetuning_task?: string }).finetuning_task?.toLowerCase().replace(/[-_ ]/g, '');
    const option = Array.from(el.task.options).find((o) => o.value.replace('-', '') === ft);
    if (option) el.task.value = option.value;
    else if (c.head === 'question-answering' && !el.task.value.startsWith('squad')) el.task.value = 'squad';
  } catch (e) {
    el.modelSummary.innerHTML = `${head}.`;
    showMessage('This folder cannot be pruned:', (e as Error).message, (e as Error).name);
  }
}

/** Top-level files of a picked folder (webkitdirectory gives every file under it). */
function topLevel(files: File[]): { files: File[]; name: string } {
  const rel = (f: File) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
  const name = rel(files[0]!).split('/')[0] || 'model folder';
  return { files: files.filter((f) => rel(f).split('/').length <= 2), name };
}

interface DirHandle { name: string; values(): AsyncIterable<{ kind: 'file' | 'directory'; getFile?: () => Promise<File> }> }

el.pickDir.addEventListener('click', async () => {
  const picker = (window as unknown as { showDirectoryPicker?: () => Promise<DirHandle> }).showDirectoryPicker;
  if (!picker) { el.modelDir.click(); return; }
  try {
    const dir = await picker.call(window);
    const files: File[] = [];
    for await (const entry of dir.values()) if (entry.kind === 'file' && entry.getFile) files.push(await entry.getFile());
    await setModelFiles(files, dir.name);
  } catch (e) {
    if ((e as Error).name !== 'AbortError') showMessage('Could not read the folder:', (e as Error).message);
  }
});
el.modelDir.addEventListener('change', () => {
  if (!el.modelDir.files?.length) return;
  const t = topLevel(Array.from(el.modelDir.files));
  void setModelFiles(t.files, t.name);
});
el.modelFiles.addEventListener('change', () => {
  if (!el.modelFiles.files?.length) return;
  void setModelFiles(Array.from(el.modelFiles.files), 'model files');
});

// Drag and drop: a folder (read through its entry) or loose files.
interface Entry { isFile: boolean; isDirectory: boolean; name: string; file?(ok: (f: File) => void, err: (e: unknown) => void): void; createReader?(): { readEntries(ok: (e: Entry[]) => void, err: (e: unknown) => void): void } }
const entryFile = (e: Entry) => new Promise<File>((ok, err) => e.file!(ok, err));
async function dirFiles(dir: Entry): Promise<File[]> {
  const reader = dir.createReader!(), out: File[] = [];
  for (;;) {
    const batch = await new Promise<Entry[]>((ok, err) => reader.readEntries(ok, err));
    if (!batch.length) return out;
    for (const e of batch) if (e.isFile) out.push(await entryFile(e));
  }
}
el.drop.addEventListener('dragover', (e) => { e.preventDefault(); el.drop.classList.add('over'); });
el.drop.addEventListener('dragleave', () => el.drop.classList.remove('over'));
el.drop.addEventListener('drop', async (e) => {
  e.preventDefault();
  el.drop.classList.remove('over');
  const items = e.dataTransfer ? Array.from(e.dataTransfer.items) : [];
  const entries = items.map((i) => (i as DataTransferItem & { webkitGetAsEntry?: () => Entry | null }).webkitGetAsEntry?.() ?? null);
  const dir = entries.find((x) => x?.isDirectory);
  try {
    if (dir && entries.length === 1) await setModelFiles(await dirFiles(dir), dir.name);
    else await setModelFiles(e.dataTransfer ? Array.from(e.dataTransfer.files) : [], 'dropped files');
  } catch (err) {
    showMessage('Could not read what was dropped:', (err as Error).message);
  }
});

// The slider moves in steps of 0.01; a constraint from the URL is kept exactly as given.
let constraintValue = Number(el.constraint.value);
const showConstraint = () => { el.constraintOut.textContent = `${Number((constraintValue * 100).toFixed(1))}%`; };
el.constraint.addEventListener('input', () => { constraintValue = Number(el.constraint.value); showConstraint(); });

function settings(): Pick<JobRequest, 'constraint' | 'sampleCount' | 'seed' | 'sweep' | 'metric' | 'devLimit'> | string {
  const constraint = constraintValue, sampleCount = Number(el.samples.value), seed = Number(el.seed.value);
  if (!(constraint > 0 && constraint < 1)) return 'the constraint is a fraction of the MACs in (0, 1)';
  if (!Number.isInteger(sampleCount) || sampleCount < 1) return 'samples must be a whole number of at least 1';
  if (!Number.isInteger(seed) || seed < 0) return 'the seed must be a whole number of at least 0';
  const devLimit = el.devLimit.value.trim() ? Number(el.devLimit.value) : undefined;
  if (devLimit !== undefined && !(Number.isInteger(devLimit) && devLimit >= 1)) return 'dev examples must be a whole number of at least 1, or blank for all';
  const sweep = el.sweepOn.checked ? el.sweep.value.split(/[\s,;]+/).filter(Boolean).map(Number) : [];
  if (sweep.some((c) => !(c > 0 && c < 1))) return `the sweep's constraints are fractions in (0, 1), separated by commas: got "${el.sweep.value}"`;
  return { constraint, sampleCount, seed, sweep, metric: el.metric.value === 'latency' ? 'latency' : 'flops', ...(devLimit ? { devLimit } : {}) };
}

function start(job: JobRequest): void {
  clearMessage();
  resetSteps();
  el.log.textContent = '';
  el.results.hidden = true;
  for (const f of [el.figLatency, el.figSweepMetric, el.figSweepFidelity]) { f.hidden = true; f.innerHTML = ''; }
  el.summary.innerHTML = '';
  delete app.report; delete app.reportJson; delete app.zip; delete app.pictures; delete app.sweep; delete app.latency; delete app.error;
  setState('running');
  if (adapterKnown && app.adapter) worker.postMessage({ type: 'prune', job });
  else if (adapterKnown) fail({ name: 'NoAdapterError', message: 'no WebGPU adapter: see above' });
  else pendingRun = job;
}

function runDemo(): void {
  const s = settings();
  if (typeof s === 'string') { showMessage('Check the settings:', s); return; }
  el.task.value = 'sst2';
  start({ model: { kind: 'demo' }, task: 'sst2', samples: { kind: 'demo' }, dev: { kind: 'demo' }, ...s });
}

el.demo.addEventListener('click', runDemo);
el.run.addEventListener('click', () => {
  const s = settings();
  if (typeof s === 'string') { showMessage('Check the settings:', s); return; }
  if (!modelFiles.length) { showMessage('Nothing to prune:', 'choose a model folder (or its files), or press "Prune the bundled demo".'); setState('error'); return; }
  const samples = el.samplesFile.files?.[0];
  if (!samples) { showMessage('No training data:', `choose the task's training file (the GLUE ${el.task.selectedOptions[0]?.text} train.tsv, or SQuAD's train JSON) to draw the samples from.`, 'DataError'); setState('error'); return; }
  const dev = el.devFile.files?.[0];
  start({
    model: { kind: 'files', name: modelName, files: modelFiles }, task: el.task.value,
    samples: { kind: 'file', file: samples }, ...(dev ? { dev: { kind: 'file', file: dev } } : {}), ...s,
  });
});
el.cancel.addEventListener('click', () => {
  worker.terminate();
  pendingRun = undefined;
  finishStep('failed');
  endSteps();
  showMessage('Cancelled.', 'The worker was stopped; change the settings and prune again.', 'Cancelled', 'info');
  setState('cancelled');
  startWorker();
});

// ------------------------------------------------------------------ start

resetSteps();
setState('idle');
startWorker();

const params = new URLSearchParams(location.search);
if (params.has('demo')) {
  const set = (input: HTMLInputElement, key: string) => { const v = params.get(key); if (v !== null && v !== '') input.value = v; };
  if (params.get('constraint')) { constraintValue = Number(params.get('constraint')); el.constraint.value = String(constraintValue); showConstraint(); }
  set(el.samples, 'samples');
  set(el.seed, 'seed');
  set(el.devLimit, 'dev');
  const sweep = params.get('sweep');
  if (sweep === 'none' || sweep === '0') el.sweepOn.checked = false;
  else if (sweep) el.sweep.value = sweep;
  if (params.get('metric') === 'latency') el.metric.value = 'latency';
  if (params.has('constraint') && !(Number(params.get('constraint')) > 0 && Number(params.get('constraint')) < 1)) {
    showMessage('Check the URL:', `constraint=${params.get('constraint')} is not a fraction in (0, 1)`);
    setState('error');
  } else {
    runDemo();
    if (app.state !== 'running') setState('error');
  }
}
