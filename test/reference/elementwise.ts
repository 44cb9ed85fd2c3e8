/** Float64 references for the element-wise kernels. */
export function binaryRef(op: 'add' | 'sub' | 'mul' | 'div', a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i % b.length]!;
    out[i] = op === 'add' ? x + y : op === 'sub' ? x - y : op === 'mul' ? x * y : x / y;
  }
  return out;
}

export function affineRef(a: ArrayLike<number>, alpha: number, beta: number): Float64Array {
  return Float64Array.from(a, (x) => x * alpha + beta);
}

/** Rounds through float32, as an upload does. */
export function f32(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(Float32Array.from(a));
}
