/** Float64 LayerNorm over the last axis, and its backward. */
export function layernormRef(x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, cols: number, eps: number) {
  const rows = x.length / cols;
  const y = new Float64Array(x.length), mean = new Float64Array(rows), rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let c = 0; c < cols; c++) m += x[r * cols + c]!;
    m /= cols;
    let v = 0;
    for (let c = 0; c < cols; c++) v += (x[r * cols + c]! - m) ** 2;
    const s = 1 / Math.sqrt(v / cols + eps);
    for (let c = 0; c < cols; c++) y[r * cols + c] = (x[r * cols + c]! - m) * s * gamma[c]! + beta[c]!;
    mean[r] = m;
    rstd[r] = s;
  }
  return { y, mean, rstd };
}

export function layernormBackwardRef(x: ArrayLike<number>, gamma: ArrayLike<number>, dy: ArrayLike<number>, cols: number, eps: number) {
  const rows = x.length / cols;
  const { mean, rstd } = layernormRef(x, gamma, new Float64Array(cols), cols, eps);
  const dx = new Float64Array(x.length), dgamma = new Float64Array(cols), dbeta = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    let mg = 0, mgx = 0;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c, g = dy[i]! * gamma[c]!, xhat = (x[i]! - mean[r]!) * rstd[r]!;
      mg += g;
      mgx += g * xhat;
      dgamma[c] += dy[i]! * xhat;
      dbeta[c] += dy[i]!;
    }
    mg /= cols;
    mgx /= cols;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c, xhat = (x[i]! - mean[r]!) * rstd[r]!;
      dx[i] = rstd[r]! * (dy[i]! * gamma[c]! - mg - xhat * mgx);
    }
  }
  return { dx, dgamma, dbeta };
}
