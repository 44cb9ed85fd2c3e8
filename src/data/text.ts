// File text for the readers: bytes or string in, UTF-8 text out, and the error class that
// names the file and line of bad input.
import { WgpruneError } from '../runtime/errors.js';

/** Bad data: names the file, the line (1-based) when there is one, and what is wrong. */
export class DataError extends WgpruneError {
  constructor(readonly file: string, readonly line: number | undefined, problem: string) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${problem}`);
  }
}

/** Decodes UTF-8 (rejecting invalid bytes) and drops a leading BOM (MRPC's files have one). */
export function decodeText(data: string | Uint8Array, file: string): string {
  let text: string;
  if (typeof data === 'string') text = data;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(data);
    } catch {
      throw new DataError(file, undefined, 'not valid UTF-8; give the file as distributed');
    }
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Lines without their '\n' (or '\r\n'); the empty string after a final newline is dropped. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}
