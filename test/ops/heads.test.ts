import * as assert from 'uvu/assert';
import { asHeads, headsMatmul } from '../../src/ops/heads.js';
import type { MatmulKernel } from '../../src/ops/matmul.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { assertClose, thrown } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { f32 } from '../reference/elementwise.js';
import { matmulRef } from '../reference/matmul.js';

const rand = new Random();

/** Matrix (b, h) of an operand in float64: heads of [batch, seq, heads·d], or [batch, heads, r, c]. */
function matrixOf(data: Float64Array, heads: boolean, [batch, H, r, c]: number[], b: number, h: number): Float64Array {
  void batch;
  return Float64Array.from({ length: r * c }, (_, i) => {
    const row = Math.floor(i / c), col = i % c;
    return heads ? data[(b * r + row) * H * c + h * c + col]! : data[((b * H + h) * r + row) * c + col]!;
  });
}

interface Case { batch: number; H: number; M: number; K: number; N: number; aHeads: boolean; bHeads: boolean; transA: boolean; transB: boolean; merge: boolean }

function run(c: Case) {
  return async ({ rt }: { rt: Runtime }) => {
    const aDims = [c.batch, c.H, c.transA ? c.K : c.M, c.transA ? c.M : c.K];
    const bDims = [c.batch, c.H, c.transB ? c.N : c.K, c.transB ? c.K : c.N];
    const a = f32(rand.uniform(aDims.reduce((x, y) => x * y))), b = f32(rand.uniform(bDims.reduce((x, y) => x * y)));
    const upload = (data: Float64Array, heads: boolean, [B, H, r, cols]: number[]) =>
      heads ? asHeads(rt.tensor(data, [B!, r!, H! * cols!]), H!) : rt.tensor(data, [B!, H!, r!, cols!]);
    const out = headsMatmul(upload(a, c.aHeads, aDims), upload(b, c.bHeads, bDims), { transA: c.transA, transB: c.transB, merge: c.merge });
    assert.equal(out.shape, c.merge ? [c.batch, c.M, c.H * c.N] : [c.batch, c.H, c.M, c.N]);
    const got = await out.read();
    for (let bi = 0; bi < c.batch; bi++) {
      for (let h = 0; h < c.H; h++) {
        const ref = matmulRef(matrixOf(a, c.aHeads, aDims, bi, h), matrixOf(b, c.bHeads, bDims, bi, h), 1, c.M, c.N, c.K, c.transA, c.transB);
        const mine = Float64Array.from({ length: c.M * c.N }, (_, i) => {
          const row = Math.floor(i / c.N), col = i % c.N;
          return c.merge ? got[(bi * c.M + row) * c.H * c.N + h * c.N + col]! : got[((bi * c.H + h) * c.M + row) * c.N + col]!;
        });
        // float32 sums of K products (see test/ops/matmul.test.ts): 1e-6 of Σ|a||b|.
        assertClose(mine, ref.c, `sequence ${bi}, head ${h}`, { rtol: 1e-6, scales: ref.scale });
      }
    }
  };
}

// Attention's six products, as src/ops/attention.ts runs them: scores q kᵀ, context P v
// (merged), dP = dC vᵀ, dv = Pᵀ dC (merged), dq = dS k (merged), dk = dSᵀ q (merged); at
// head sizes that are and are not multiples of 4, and sequence lengths under and over a tile
// (5 tokens: fewer rows than matmul gives the texture kernel, still read in place).
const shapes = [[3, 2, 9, 8], [2, 3, 20, 6], [1, 4, 33, 16], [4, 2, 5, 12]] as const;
const products = (batch: number, H: number, S: number, d: number): [string, Case][] => [
  ['q kᵀ', { batch, H, M: S, K: d, N: S, aHeads: true, bHeads: true, transA: false, transB: true, merge: false }],
  ['P v, merged', { batch, H, M: S, K: S, N: d, aHeads: false, bHeads: true, transA: false, transB: false, merge: true }],
  ['dC vᵀ', { batch, H, M: S, K: d, N: S, aHeads: true, bHeads: true, transA: false, transB: true, merge: false }],
  ['Pᵀ dC, merged', { batch, H, M: S, K: S, N: d, aHeads: false, bHeads: true, transA: true, transB: false, merge: true }],
  ['dS k, merged', { batch, H, M: S, K: S, N: d, aHeads: false, bHeads: true, transA: false, transB: false, merge: true }],
];

const kernels: MatmulKernel[] = ['texture', 'subgroup', 'general'];
for (const kernel of kernels) {
  const s = gpuSuite(`headsMatmul (${kernel} kernel)`, { tuning: { matmulKernel: kernel } });
  for (const [batch, H, S, d] of shapes) {
    for (const [name, c] of products(batch, H, S, d)) s(`${name}: ${batch} x ${H} heads, seq ${S}, d ${d}`, run(c));
  }
  s.run();
}

// Textures of 48 texels a side: a piece takes as many sequences as fit (here one or two);
// at 24 one sequence's heads do not fit and the heads are permuted into place instead.
for (const side of [48, 24]) {
  const s = gpuSuite(`headsMatmul split (textures of ${side})`, { limits: { maxTextureDimension2D: side, maxComputeWorkgroupsPerDimension: 2 }, tuning: { matmulKernel: 'texture' } });
  for (const [name, c] of products(5, 2, 9, 8)) s(name, run(c));
  s.run();
}

const e = gpuSuite('headsMatmul refusals');
e('operands of different batches or heads are refused', ({ rt }) => {
  const q = asHeads(rt.tensor(new Float32Array(2 * 3 * 8), [2, 3, 8]), 2);
  const k = asHeads(rt.tensor(new Float32Array(3 * 3 * 8), [3, 3, 8]), 2);
  assert.match(thrown(() => headsMatmul(q, k, { transB: true })), 'headsMatmul: heads of tensor[2, 3, 8] f32 and heads of tensor[3, 3, 8] f32ᵀ do not multiply (batch 2/3');
  assert.match(thrown(() => asHeads(rt.tensor(new Float32Array(6), [1, 2, 3]), 2)), 'heads: tensor[1, 2, 3] f32 is not [batch, seq, 2 · headDim]');
});
e('a disposed operand is refused before anything is bound', ({ rt }) => {
  const q = rt.tensor(new Float32Array(2 * 9 * 8), [2, 9, 8]), k = rt.tensor(new Float32Array(2 * 9 * 8), [2, 9, 8]);
  k.dispose();
  assert.match(thrown(() => headsMatmul(asHeads(q, 2), asHeads(k, 2), { transB: true })), 'headsMatmul: tensor[2, 9, 8] f32 was used after dispose()');
});
e.run();
