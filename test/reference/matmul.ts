/**
 * Float64 C = op(A) op(B) for a batch, with B shared when it has one matrix. Also returns
 * Σ|a||b| per output, the scale that bounds float32 accumulation error.
 */
export function matmulRef(
  a: ArrayLike<number>, b: ArrayLike<number>, batch: number, M: number, N: number, K: number,
  transA: boolean, transB: boolean,
): { c: Float64Array; scale: Float64Array } {
  const c = new Float64Array(batch * M * N);
  const scale = new Float64Array(batch * M * N);
  const bShared = b.length === K * N;
  for (let z = 0; z < batch; z++) {
    const ao = z * M * K, bo = bShared ? 0 : z * K * N, co = z * M * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0, abs = 0;
        for (let k = 0; k < K; k++) {
          const x = a[ao + (transA ? k * M + m : m * K + k)]!;
          const y = b[bo + (transB ? n * K + k : k * N + n)]!;
          s += x * y;
          abs += Math.abs(x * y);
        }
        c[co + m * N + n] = s;
        scale[co + m * N + n] = abs;
      }
    }
  }
  return { c, scale };
}
