/** Float64 AᵀA and Aᵀb from an explicit A [rows, k], with Σ|terms| for tolerances. */
export function normalRef(A: Float64Array, b: Float64Array, k: number) {
  const rows = b.length;
  const ata = new Float64Array(k * k), ataScale = new Float64Array(k * k), atb = new Float64Array(k), atbScale = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < k; i++) {
      const ai = A[r * k + i]!;
      atb[i] += ai * b[r]!;
      atbScale[i] += Math.abs(ai * b[r]!);
      for (let j = 0; j < k; j++) { ata[i * k + j] += ai * A[r * k + j]!; ataScale[i * k + j] += Math.abs(ai * A[r * k + j]!); }
    }
  }
  return { ata, ataScale, atb, atbScale };
}

