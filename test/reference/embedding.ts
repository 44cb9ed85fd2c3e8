/** Float64 references for BERT-style embeddings, forward and backward. */

export interface EmbeddingData {
  batch: number;
  seq: number;
  hidden: number;
  /** [batch, seq] each */
  inputIds: ArrayLike<number>;
  tokenTypeIds?: ArrayLike<number>;
  positionIds?: ArrayLike<number>;
  /** [rows, hidden] each */
  word: ArrayLike<number>;
  position: ArrayLike<number>;
  tokenType?: ArrayLike<number>;
}

interface Table {
  table: ArrayLike<number>;
  /** The row token t reads, clamped into the table as the kernel does. */
  row: (t: number) => number;
}

function tablesOf(d: EmbeddingData): { word: Table; position: Table; tokenType?: Table } {
  const clamped = (table: ArrayLike<number>, id: (t: number) => number): Table => {
    const rows = table.length / d.hidden;
    return { table, row: (t) => Math.min(Math.max(id(t), 0), rows - 1) };
  };
  return {
    word: clamped(d.word, (t) => d.inputIds[t]!),
    position: clamped(d.position, (t) => (d.positionIds ? d.positionIds[t]! : t % d.seq)),
    ...(d.tokenType ? { tokenType: clamped(d.tokenType, (t) => (d.tokenTypeIds ? d.tokenTypeIds[t]! : 0)) } : {}),
  };
}

/** out [batch, seq, hidden], and the sum of the terms' magnitudes (the scale of float32 error). */
export function embeddingRef(d: EmbeddingData): { out: Float64Array; scale: Float64Array } {
  const tokens = d.batch * d.seq, h = d.hidden;
  const out = new Float64Array(tokens * h), scale = new Float64Array(tokens * h);
  const tables = Object.values(tablesOf(d)).filter((t): t is Table => !!t);
  for (let t = 0; t < tokens; t++) {
    for (const { table, row } of tables) {
      for (let c = 0; c < h; c++) {
        const v = table[row(t) * h + c]!;
        out[t * h + c] += v;
        scale[t * h + c] += Math.abs(v);
      }
    }
  }
  return { out, scale };
}

/** One table's gradient, the Σ|terms| of each element, and how many tokens hit each row. */
export interface TableGradRef {
  grad: Float64Array;
  scale: Float64Array;
  counts: Int32Array;
}

/**
 * Scatter-add of dOut into each table's rows; padding rows stay 0. With `float32` the sums
 * round to float32 after every addition, in token order, as the kernel adds them: its
 * result must then match bit for bit.
 */
export function embeddingBackwardRef(
  d: EmbeddingData, dOut: ArrayLike<number>, { paddingIdx = {} as { word?: number; position?: number }, float32 = false } = {},
): { word: TableGradRef; position: TableGradRef; tokenType?: TableGradRef } {
  const h = d.hidden, tokens = d.batch * d.seq;
  const round = float32 ? Math.fround : (v: number) => v;
  const scatter = ({ table, row }: Table, pad?: number): TableGradRef => {
    const grad = new Float64Array(table.length), scale = new Float64Array(table.length), counts = new Int32Array(table.length / h);
    for (let t = 0; t < tokens; t++) {
      const r = row(t);
      if (r === pad) continue;
      counts[r]!++;
      for (let c = 0; c < h; c++) {
        grad[r * h + c] = round(grad[r * h + c]! + dOut[t * h + c]!);
        scale[r * h + c] += Math.abs(dOut[t * h + c]!);
      }
    }
    return { grad, scale, counts };
  };
  const tables = tablesOf(d);
  return {
    word: scatter(tables.word, paddingIdx.word), position: scatter(tables.position, paddingIdx.position),
    ...(tables.tokenType ? { tokenType: scatter(tables.tokenType) } : {}),
  };
}
