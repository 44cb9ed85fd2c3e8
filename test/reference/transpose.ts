/** out.shape[i] = shape[perm[i]], by explicit index arithmetic. */
export function permuteRef(x: ArrayLike<number>, shape: number[], perm: number[]): Float64Array {
  const outShape = perm.map((p) => shape[p]!);
  const strides: number[] = [];
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) { strides[d] = s; s *= shape[d]!; }
  const out = new Float64Array(x.length);
  const coords = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < x.length; i++) {
    let rest = i;
    for (let d = outShape.length - 1; d >= 0; d--) { coords[d] = rest % outShape[d]!; rest = Math.floor(rest / outShape[d]!); }
    let src = 0;
    for (let d = 0; d < perm.length; d++) src += coords[d]! * strides[perm[d]!]!;
    out[i] = x[src]!;
  }
  return out;
}
