/** Float64 softmax(x * scale + bias) over rows of `cols`, bias [batches, cols]. */
export function softmaxRef(x: ArrayLike<number>, cols: number, scale = 1, bias?: ArrayLike<number>): Float64Array {
  const rows = x.length / cols;
  const rowsPerBatch = bias ? rows / (bias.length / cols) : rows;
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    const b = Math.floor(r / rowsPerBatch);
    const z = Array.from({ length: cols }, (_, c) => x[r * cols + c]! * scale + (bias ? bias[b * cols + c]! : 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((p, v) => p + v, 0);
    for (let c = 0; c < cols; c++) y[r * cols + c] = e[c]! / s;
  }
  return y;
}

export function softmaxBackwardRef(y: ArrayLike<number>, dy: ArrayLike<number>, cols: number, scale = 1): Float64Array {
  const dx = new Float64Array(y.length);
  for (let r = 0; r < y.length / cols; r++) {
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += dy[r * cols + c]! * y[r * cols + c]!;
    for (let c = 0; c < cols; c++) dx[r * cols + c] = scale * y[r * cols + c]! * (dy[r * cols + c]! - dot);
  }
  return dx;
}

/** Hugging Face's additive mask: 0 for tokens, the float32 minimum for padding. */
export const float32Min = -3.4028234663852886e38;
export function maskBias(attention: ArrayLike<number>): Float64Array {
  return Float64Array.from(attention, (m) => (m ? 0 : float32Min));
}
