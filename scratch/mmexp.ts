import { createRuntime } from '../src/runtime/runtime.js';
import { Uniforms } from '../src/runtime/program.js';

const rt = await createRuntime();
const M = 512, K = 768, N = Number(process.env.N ?? 768);
const a = rt.tensor(new Float32Array(M * K).map(() => Math.random() - 0.5), [M, K]);
const b = rt.tensor(new Float32Array(K * N).map(() => Math.random() - 0.5), [K, N]);
const bt = rt.tensor(new Float32Array(K * N).map(() => Math.random() - 0.5), [N, K]);

// Variant: rows uniform per workgroup (R rows), WG lanes over columns, each lane C=4 cols via vec4 B.
function rowsUniform(R: number, WG: number, transB: boolean) {
  const accDecl = Array.from({ length: R }, (_, i) => `var acc${i} = vec4f(0.0);`).join('\n  ');
  let body: string;
  if (!transB) {
    body = `for (var k = 0u; k < p.K; k++) {
    let bk = b4[(k * p.N + col0) / 4u];
    ${Array.from({ length: R }, (_, i) => `acc${i} += a[(row0 + ${i}u) * p.K + k] * bk;`).join('\n    ')}
  }`;
  } else {
    body = `for (var k = 0u; k < p.K; k += 4u) {
    let b0 = b4[((col0 + 0u) * p.K + k) / 4u];
    let b1 = b4[((col0 + 1u) * p.K + k) / 4u];
    let b2 = b4[((col0 + 2u) * p.K + k) / 4u];
    let b3 = b4[((col0 + 3u) * p.K + k) / 4u];
    ${Array.from({ length: R }, (_, i) => `{ let av = a4[((row0 + ${i}u) * p.K + k) / 4u]; acc${i} += vec4f(dot(av, b0), dot(av, b1), dot(av, b2), dot(av, b3)); }`).join('\n    ')}
  }`;
  }
  const src = `
struct Params { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c4: array<vec4f>;
@group(0) @binding(4) var<uniform> p: Params;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wid.y * ${R}u;
  let col0 = (wid.x * ${WG}u + lid.x) * 4u;
  if (col0 >= p.N) { return; }
  ${accDecl}
  ${body}
  ${Array.from({ length: R }, (_, i) => `c4[((row0 + ${i}u) * p.N + col0) / 4u] = acc${i};`).join('\n  ')}
}`;
  return { src, wg: [Math.ceil(N / 4 / WG), M / R, 1] as [number, number, number] };
}

async function time(name: string, src: string, wg: [number, number, number], bb = b) {
  const c = rt.empty([M, N]);
  const prog = { name, source: src, bindings: ['read', 'read', 'read', 'write'] as ('read' | 'write')[] };
  const run = () => rt.dispatch(prog, [rt.bind(a), rt.bind(a), rt.bind(bb), rt.bind(c)], new Uniforms().u32(M, N, K).bytes(), wg);
  run(); await rt.sync();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) { const t0 = performance.now(); run(); await rt.sync(); times.push(performance.now() - t0); }
  times.sort((x, y) => x - y);
  const ms = times[2]!;
  console.log(`${name}: ${ms.toFixed(1)} ms, ${(2 * M * N * K / ms / 1e6).toFixed(2)} GFLOP/s`);
  c.dispose();
}

for (const [R, WG] of [[4, 64], [8, 64], [8, 16], [16, 16], [8, 8], [4, 8], [16, 64]]) {
  const v = rowsUniform(R!, WG!, false);
  await time(`rowsUniform R${R} WG${WG}`, v.src, v.wg);
}
for (const [R, WG] of [[4, 64], [8, 64], [8, 16]]) {
  const v = rowsUniform(R!, WG!, true);
  await time(`rowsUniform transB R${R} WG${WG}`, v.src, v.wg, bt);
}
rt.destroy();
