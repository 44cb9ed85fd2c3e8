import { createRuntime } from '../src/runtime/runtime.js';
import { Uniforms } from '../src/runtime/program.js';

const rt = await createRuntime({ dawnOptions: (process.env.DAWN ?? '').split(';').filter(Boolean) });
const M = 512, K = Number(process.env.K ?? 768), N = Number(process.env.N ?? 768);
const a = rt.tensor(new Float32Array(M * K).map(() => Math.random() - 0.5), [M, K]);
const b = rt.tensor(new Float32Array(K * N).map(() => Math.random() - 0.5), [K, N]);

// 4x4 (or RxC*4) per thread, A and B both vec4.
function vec4Kernel(TX: number, TY: number, R: number) {
  const src = `
struct Params { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<storage, read> a4: array<vec4f>;
@group(0) @binding(1) var<storage, read> b4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> c4: array<vec4f>;
@group(0) @binding(3) var<uniform> p: Params;
@compute @workgroup_size(${TX}, ${TY})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = (wid.y * ${TY}u + lid.y) * ${R}u;
  let col4 = wid.x * ${TX}u + lid.x;
  let K4 = p.K / 4u;
  let N4 = p.N / 4u;
  ${Array.from({ length: R }, (_, i) => `var acc${i} = vec4f(0.0);`).join('\n  ')}
  for (var k4 = 0u; k4 < K4; k4++) {
    let b0 = b4[(k4 * 4u + 0u) * N4 + col4];
    let b1 = b4[(k4 * 4u + 1u) * N4 + col4];
    let b2 = b4[(k4 * 4u + 2u) * N4 + col4];
    let b3 = b4[(k4 * 4u + 3u) * N4 + col4];
    ${Array.from({ length: R }, (_, i) => `{ let av = a4[(row0 + ${i}u) * K4 + k4]; acc${i} += av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3; }`).join('\n    ')}
  }
  ${Array.from({ length: R }, (_, i) => `c4[(row0 + ${i}u) * N4 + col4] = acc${i};`).join('\n  ')}
}`;
  return { src, wg: [Math.ceil(N / 4 / TX), Math.ceil(M / R / TY), 1] as [number, number, number] };
}

async function time(name: string, src: string, wg: [number, number, number]) {
  const c = rt.empty([M, N]);
  const prog = { name, source: src, bindings: ['read', 'read', 'write'] as ('read' | 'write')[] };
  const run = () => rt.dispatch(prog, [rt.bind(a), rt.bind(b), rt.bind(c)], new Uniforms().u32(M, N, K).bytes(), wg);
  run(); await rt.sync();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) { const t0 = performance.now(); run(); await rt.sync(); times.push(performance.now() - t0); }
  times.sort((x, y) => x - y);
  const ms = times[2]!;
  console.log(`${name}: ${ms.toFixed(1)} ms, ${(2 * M * N * K / ms / 1e6).toFixed(2)} GFLOP/s`);
  c.dispose();
}

for (const [TX, TY, R] of [[8, 8, 4], [16, 16, 4], [8, 8, 8], [16, 4, 8], [4, 16, 4], [32, 2, 4], [8, 1, 8], [16, 8, 4], [64, 1, 4]]) {
  const v = vec4Kernel(TX!, TY!, R!);
  await time(`vec4 TX${TX} TY${TY} R${R}`, v.src, v.wg);
}
rt.destroy();
