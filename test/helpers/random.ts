/**
 * Seeded inputs, drawn afresh each run: the seed comes from WGPRUNE_SEED or the clock,
 * and every failure message carries it so the run can be repeated.
 */
function envSeed(): number | undefined {
  const v = typeof process !== 'undefined' ? process.env?.WGPRUNE_SEED : undefined;
  return v ? Number(v) : undefined;
}

export const seed: number = envSeed() ?? (Date.now() % 2 ** 31);

export class Random {
  private state: number;
  constructor(s = seed) {
    this.state = s >>> 0;
  }

  /** mulberry32 */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(n: number, lo = -1, hi = 1): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * this.next();
    return out;
  }

  ints(n: number, lo: number, hi: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + Math.floor((hi - lo) * this.next());
    return out;
  }
}
