// Bundled for the browser by esbuild (npm run build): 'wgprune' resolves to the package's
// browser entry, which needs navigator.gpu (Chrome, Edge; Chromium with --enable-unsafe-webgpu).
import { createRuntime, describeAdapter, openModelFiles } from 'wgprune';

const out = document.getElementById('out');
const log = (line) => { out.textContent += `${line}\n`; console.log(line); };
const modelFiles = ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'];
const text = new URLSearchParams(location.search).get('text') ?? "it 's a charming and often affecting journey . ";

/** Logits of one sentence: tokenized, one batch of one row, read back. */
async function classify(model, tokenizer, sentence) {
  const e = tokenizer.encode(sentence, undefined, { maxLength: 128 });
  const ids = (a) => Int32Array.from(a);
  const output = model.forward({ batch: 1, seq: e.inputIds.length, inputIds: ids(e.inputIds), attentionMask: ids(e.attentionMask), tokenTypeIds: ids(e.tokenTypeIds) });
  if (output.kind !== 'classification') throw new Error(`${model.config.architecture} is not a classifier`);
  const logits = Array.from(await output.logits.read());
  output.logits.dispose();
  return logits;
}

async function run(rt, files) {
  const { model, config, tokenizer } = await openModelFiles(rt, files);
  try {
    log(`model: ${config.architecture}, ${config.layers} layers, hidden ${config.hidden}`);
    const logits = await classify(model, tokenizer, text);
    const best = logits.indexOf(Math.max(...logits));
    log(`text: ${JSON.stringify(text)}`);
    log(`logits: ${JSON.stringify(logits)}`);
    log(`label: ${config.labels[best]}`);
  } finally {
    model.dispose();
  }
}

try {
  const rt = await createRuntime();
  log(`adapter: ${describeAdapter(rt.adapter)}`);
  // Blobs by file name; openModelFiles reads the weights a tensor at a time with Blob.slice.
  const files = new Map(await Promise.all(modelFiles.map(async (name) => {
    const response = await fetch(`model/${name}`);
    if (!response.ok) throw new Error(`model/${name}: HTTP ${response.status}`);
    return [name, await response.blob()];
  })));
  await run(rt, files);
  document.getElementById('pick').addEventListener('change', (event) => {
    run(rt, event.target.files).catch((e) => log(`error: ${e.message}`));
  });
} catch (e) {
  log(`error: ${e.message}`);
}
