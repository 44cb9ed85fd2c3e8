// The tokenizer loader. BERT and DistilBERT: the hand-written WordPiece from vocab.txt
// (tokenizer-wordpiece.ts), or tokenizer.json through @huggingface/tokenizers
// (tokenizer-hf.ts). RoBERTa: tokenizer.json, or vocab.json + merges.txt, through the library.
// Works on file contents, so it runs in Node and the browser; tokenizer-files.ts reads a
// folder in Node.
import {
  TokenizerError, parseJsonFile,
  type LoadTokenizerOptions, type ModelType, type Tokenizer, type TokenizerFiles,
} from './tokenizer-base.js';
import { hfTokenizerFromJson, robertaJsonFromVocabMerges } from './tokenizer-hf.js';
import { wordPieceFromVocabTxt } from './tokenizer-wordpiece.js';

export {
  TokenizerError, longestFirstLengths, truncatePieces,
  type EncodeOptions, type Encoding, type LoadTokenizerOptions, type ModelType, type Pieces,
  type SpecialIds, type Tokenizer, type TokenizerFiles, type Truncation,
} from './tokenizer-base.js';

/** The file names loadTokenizer reads, for a folder reader to pick up. */
export const TOKENIZER_FILE_NAMES = ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt'] as const;

export function loadTokenizer(files: TokenizerFiles, modelType: ModelType, opts: LoadTokenizerOptions = {}): Tokenizer {
  if (modelType === 'roberta') {
    const json = parseJsonFile('tokenizer.json', files['tokenizer.json']);
    if (json) return hfTokenizerFromJson(json, files, modelType);
    const vocab = parseJsonFile('vocab.json', files['vocab.json']);
    if (vocab && files['merges.txt'] !== undefined) return hfTokenizerFromJson(robertaJsonFromVocabMerges(vocab, files['merges.txt']), files, modelType);
    throw new TokenizerError('RoBERTa needs tokenizer.json (or vocab.json and merges.txt) from the model folder; none was given');
  }
  if (modelType !== 'bert' && modelType !== 'distilbert') throw new TokenizerError(`unknown model type '${String(modelType)}'; use 'bert', 'distilbert' or 'roberta'`);
  const hasVocab = files['vocab.txt'] !== undefined, hasJson = files['tokenizer.json'] !== undefined;
  if (hasJson && (!hasVocab || opts.prefer === 'tokenizer.json')) {
    return hfTokenizerFromJson(parseJsonFile('tokenizer.json', files['tokenizer.json'])!, files, modelType);
  }
  if (hasVocab) return wordPieceFromVocabTxt(files, modelType);
  throw new TokenizerError(`${modelType} needs vocab.txt or tokenizer.json from the model folder; none was given`);
}
