/** Float64 sum or max over `axis`, with Σ|x| per output for the sum's tolerance. */
export function reduceRef(op: 'sum' | 'max', x: ArrayLike<number>, shape: number[], axis: number): { out: Float64Array; scale: Float64Array } {
  const ax = axis < 0 ? axis + shape.length : axis;
  const outer = shape.slice(0, ax).reduce((p, d) => p * d, 1);
  const len = shape[ax]!;
  const inner = shape.slice(ax + 1).reduce((p, d) => p * d, 1);
  const out = new Float64Array(outer * inner);
  const scale = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let acc = op === 'sum' ? 0 : -Infinity, abs = 0;
      for (let l = 0; l < len; l++) {
        const v = x[(o * len + l) * inner + j]!;
        acc = op === 'sum' ? acc + v : Math.max(acc, v);
        abs += Math.abs(v);
      }
      out[o * inner + j] = acc;
      scale[o * inner + j] = op === 'sum' ? abs : Math.abs(acc);
    }
  }
  return { out, scale };
}
