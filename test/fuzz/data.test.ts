// Mutated data and tokenizer files must each end in a WgpruneError (DataError, TokenizerError),
// or read into examples, tokens and features that hold together: labels of the task,
// token ids inside the vocabulary, sequences within their length, answer positions inside
// their feature. Inputs: the GLUE and SQuAD slices of test/fixtures/data, the
// bert-base-uncased vocabulary, and sst2-mini's tokenizer.json (the library path).
import { GLUE_TASK_INFO, parseGlueTsv, type GlueTask } from '../../src/data/glue.js';
import { parseSquadJson, squadFeatures } from '../../src/data/squad.js';
import { loadTokenizer, type Tokenizer } from '../../src/io/tokenizer.js';
import type { Random } from '../helpers/random.js';
import { below, concatBytes, fuzzFile, mutateBytes, oddJsonValue, outcome, pick, record, type FuzzTarget } from './harness.js';

const enc = new TextEncoder(), dec = new TextDecoder();
const GLUE: [GlueTask, string][] = [
  ['cola', 'CoLA/train.tsv'], ['sst2', 'SST-2/dev.tsv'], ['mrpc', 'MRPC/dev.tsv'], ['stsb', 'STS-B/dev.tsv'],
  ['qqp', 'QQP/dev.tsv'], ['mnli', 'MNLI/dev_matched.tsv'], ['qnli', 'QNLI/dev.tsv'], ['rte', 'RTE/dev.tsv'],
];
const MAX = 64;

async function readText(path: string): Promise<string> {
  const fs = await import('node:fs/promises');
  return fs.readFile(path, 'utf8');
}

async function bertTokenizer(): Promise<Tokenizer> {
  const dir = 'test/fixtures/data/bert-base-uncased';
  return loadTokenizer({ 'vocab.txt': await readText(`${dir}/vocab.txt`), 'tokenizer_config.json': await readText(`${dir}/tokenizer_config.json`) }, 'bert');
}

/** Problems with one encoding: ids outside the vocabulary, too long, types that do not match. */
function encodingProblem(e: { inputIds: ArrayLike<number>; tokenTypeIds: ArrayLike<number> }, vocab: number, max: number): string | undefined {
  if (e.inputIds.length > max) return `${e.inputIds.length} tokens, over the ${max} asked for`;
  if (e.tokenTypeIds.length !== e.inputIds.length) return `${e.inputIds.length} ids but ${e.tokenTypeIds.length} token types`;
  for (let i = 0; i < e.inputIds.length; i++) {
    const id = e.inputIds[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocab) return `token id ${id} outside the vocabulary of ${vocab}`;
  }
  return undefined;
}

/** Text-level changes that byte flips rarely make: lines and fields moved, odd characters. */
function mutateLines(rand: Random, text: string): { text: string; what: string } {
  const lines = text.split('\n');
  const i = below(rand, lines.length);
  switch (below(rand, 8)) {
    case 0: lines.splice(i, 1); return { text: lines.join('\n'), what: `delete line ${i + 1}` };
    case 1: lines.splice(i, 0, lines[below(rand, lines.length)]!); return { text: lines.join('\n'), what: `copy a line before line ${i + 1}` };
    case 2: { const f = lines[i]!.split('\t'); f.splice(below(rand, f.length + 1), 0, pick(rand, ['', 'x', '1', '-1', 'NaN', '1e309', '5.0001'])); lines[i] = f.join('\t'); return { text: lines.join('\n'), what: `add a field to line ${i + 1}` }; }
    case 3: { const f = lines[i]!.split('\t'); const j = below(rand, f.length); f[j] = pick(rand, ['', ' ', '0', '1', '2', '-0', '5', '6', 'neutral', 'entailment', 'Infinity', '0x1', '\u0000', '\ud800', 'é'.repeat(500), 'a '.repeat(3000)]); lines[i] = f.join('\t'); return { text: lines.join('\n'), what: `field ${j + 1} of line ${i + 1} changed` }; }
    case 4: return { text: lines.join('\r\n'), what: 'CRLF line ends' };
    case 5: return { text: `\ufeff${text}`, what: 'a BOM' };
    case 6: lines[i] = lines[i]!.replace(/\t/g, pick(rand, [' ', '\t\t', ','])); return { text: lines.join('\n'), what: `tabs of line ${i + 1} replaced` };
    default: return { text: lines.slice(0, 1 + below(rand, 2)).join('\n'), what: 'header and at most one line left' };
  }
}

function mutateText(rand: Random, text: string): { data: Uint8Array; what: string } {
  if (rand.next() < 0.5) {
    const m = mutateBytes(rand, enc.encode(text));
    return { data: m.bytes, what: m.what };
  }
  const m = mutateLines(rand, text);
  return { data: enc.encode(m.text), what: m.what };
}

const glue: FuzzTarget = async () => {
  const tokenizer = await bertTokenizer();
  const files = await Promise.all(GLUE.map(async ([task, path]) => [task, path, await readText(`test/fixtures/data/glue/${path}`)] as const));
  return (rand) => {
    const [task, path, text] = pick(rand, files);
    const m = mutateText(rand, text);
    return {
      what: `${path}: ${m.what}`,
      async check() {
        let problem: string | undefined;
        const end = await outcome(async () => {
          const data = parseGlueTsv(task, m.data, path);
          const info = GLUE_TASK_INFO[task];
          if (!data.examples.length) problem = 'read with no examples';
          for (const [i, e] of data.examples.entries()) {
            const badLabel = info.labels ? !(Number.isInteger(e.label) && e.label >= 0 && e.label < info.labels.length) : !(e.label >= 0 && e.label <= 5);
            if (badLabel) { problem = `example ${i} read with label ${e.label}`; break; }
            problem = encodingProblem(tokenizer.encode(e.textA, e.textB, { maxLength: MAX }), tokenizer.vocabSize, MAX);
            if (problem) { problem = `example ${i}: ${problem}`; break; }
          }
        });
        if (end.problem) return end.problem;
        record(end.error ?? 'read');
        return problem;
      },
    };
  };
};

/** A change somewhere in a parsed JSON value: a field set to an odd value, deleted, or an array emptied. */
function mutateJson(rand: Random, root: unknown): string {
  const path: string[] = [];
  let node = root as Record<string, unknown>;
  for (let depth = 0; depth < 8; depth++) {
    const keys = Object.keys(node);
    if (!keys.length) break;
    const k = pick(rand, keys);
    const child = node[k];
    if (child === null || typeof child !== 'object' || rand.next() < 0.25) {
      path.push(k);
      const r = rand.next();
      if (r < 0.2 && !Array.isArray(node)) { delete node[k]; return `delete ${path.join('.')}`; }
      const v = r < 0.5 ? oddJsonValue(rand) : typeof child === 'string' ? pick(rand, ['', child + child, child.slice(1), '\u0000', '\ud800x', child.toUpperCase()]) : typeof child === 'number' ? pick(rand, [child + 1, -child, child * 1000, 0.5]) : oddJsonValue(rand);
      node[k] = v;
      return `${path.join('.')} = ${JSON.stringify(v)?.slice(0, 40)}`;
    }
    path.push(k);
    node = child as Record<string, unknown>;
  }
  return 'no change';
}

const squad: FuzzTarget = async () => {
  const tokenizer = await bertTokenizer();
  const text = await readText('test/fixtures/data/squad/dev-v1.1-slice.json');
  return (rand) => {
    let data: Uint8Array, what: string;
    if (rand.next() < 0.4) ({ bytes: data, what } = mutateBytes(rand, enc.encode(text)));
    else {
      const json = JSON.parse(text) as unknown;
      what = mutateJson(rand, json);
      if (rand.next() < 0.3) what += `; ${mutateJson(rand, json)}`;
      data = enc.encode(JSON.stringify(json));
    }
    return {
      what,
      async check() {
        let problem: string | undefined;
        const end = await outcome(async () => {
          const parsed = parseSquadJson(data, 'dev.json');
          const features = squadFeatures(parsed.examples, tokenizer, { maxSeqLength: MAX, docStride: 16, maxQueryLength: 16 });
          for (const [i, f] of features.entries()) {
            problem = encodingProblem(f, tokenizer.vocabSize, MAX);
            if (!problem && !(f.startPosition >= 0 && f.endPosition >= f.startPosition && f.endPosition < f.inputIds.length)) problem = `answer at ${f.startPosition}..${f.endPosition} of ${f.inputIds.length} tokens`;
            if (!problem && f.contextOffsets.length !== f.inputIds.length) problem = `${f.contextOffsets.length} offsets for ${f.inputIds.length} tokens`;
            if (problem) { problem = `feature ${i}: ${problem}`; break; }
          }
        });
        if (end.problem) return end.problem;
        record(end.error ?? 'read');
        return problem;
      },
    };
  };
};

const SENTENCES = ['Hello, world!', 'the quick brown fox jumps over the lazy dog', 'naïve café — ünïcödé 東京', '[CLS] [SEP] [MASK] ##s', ''];

/** vocab.txt and tokenizer_config.json (the hand-written WordPiece), or tokenizer.json (the library). */
const tokenizers: FuzzTarget = async () => {
  const dir = 'test/fixtures/data/bert-base-uncased';
  const vocab = await readText(`${dir}/vocab.txt`), config = await readText(`${dir}/tokenizer_config.json`);
  const hfJson = await readText('models/sst2-mini/tokenizer.json');
  return (rand) => {
    const files: Record<string, string> = { 'vocab.txt': vocab, 'tokenizer_config.json': config };
    let what: string;
    const r = rand.next();
    if (r < 0.35) {
      const m = rand.next() < 0.5 ? mutateLines(rand, vocab) : (() => { const b = mutateBytes(rand, enc.encode(vocab)); return { text: dec.decode(b.bytes), what: b.what }; })();
      files['vocab.txt'] = m.text;
      what = `vocab.txt: ${m.what}`;
    } else if (r < 0.55) {
      const json = JSON.parse(config) as Record<string, unknown>;
      const field = pick(rand, ['do_lower_case', 'model_max_length', 'unk_token', 'cls_token', 'sep_token', 'pad_token', 'mask_token', 'tokenize_chinese_chars', 'strip_accents']);
      json[field] = rand.next() < 0.5 ? oddJsonValue(rand) : pick(rand, ['[UNK]', '[SEP]', 'nope', '', { content: '[CLS]' }, { content: 7 }]);
      files['tokenizer_config.json'] = JSON.stringify(json);
      what = `tokenizer_config.json: ${field} = ${JSON.stringify(json[field])}`;
    } else {
      delete files['vocab.txt'];
      if (rand.next() < 0.5) {
        const json = JSON.parse(hfJson) as unknown;
        what = `tokenizer.json: ${mutateJson(rand, json)}`;
        files['tokenizer.json'] = JSON.stringify(json);
      } else {
        const b = mutateBytes(rand, enc.encode(hfJson), [0, 4000]);
        what = `tokenizer.json: ${b.what}`;
        files['tokenizer.json'] = dec.decode(concatBytes([b.bytes]));
      }
    }
    return {
      what,
      async check() {
        let problem: string | undefined;
        const end = await outcome(async () => {
          const t = loadTokenizer(files, 'bert');
          for (const s of SENTENCES) {
            problem = encodingProblem(t.encode(s, s.slice(3), { maxLength: 16 }), t.vocabSize, 16);
            if (problem) { problem = `"${s}": ${problem}`; break; }
          }
        });
        if (end.problem) return end.problem;
        record(end.error ?? 'loaded');
        return problem;
      },
    };
  };
};

await fuzzFile('fuzz data and tokenizer files', { glue, squad, tokenizers }, { glue: 500, squad: 300, tokenizers: 200 });
