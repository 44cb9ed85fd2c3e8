import * as assert from 'uvu/assert';
import { kernel, kernelFamily, read, storageTexture, texture, write } from '../../shaders/kernel.js';
import { DTypeError, KernelError, WgpruneError } from '../../src/runtime/errors.js';
import { rejected, thrown } from '../helpers/compare.js';
import { gpuSuite } from '../helpers/gpu.js';

// The kernel descriptions (shaders/kernel.ts) and the one launch path (Runtime.launch): the
// generated declarations, the shifts the launch fills, and every check it makes.

/** out[i] = x[i] * alpha + k, over `count` elements. */
const affine = kernel({
  name: 'testAffine',
  bindings: { x: read(), out: write() },
  uniforms: { count: 'u32', alpha: 'f32', k: 'i32' },
  workgroupSize: 64,
  dispatch: (u) => Math.ceil(u.count / 64),
  code: /* wgsl */ `
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * 64u + lid;
  if (i >= p.count) { return; }
  out[p.outShift + i] = x[p.xShift + i] * p.alpha + f32(p.k);
}
`,
});

/** The same over vec4s: shifts arrive in vec4 units. */
const affine4 = kernel({
  name: 'testAffine4',
  bindings: { x: read('f32', { vec4: true }), out: write('f32', { vec4: true }) },
  uniforms: { count: 'u32', alpha: 'f32' },
  workgroupSize: 64,
  dispatch: (u) => Math.ceil(u.count / 64),
  code: /* wgsl */ `
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= p.count) { return; }
  out[p.outShift + gid.x] = x[p.xShift + gid.x] * p.alpha;
}
`,
});

const s = gpuSuite('kernel descriptions and launch');

s('the source declares the uniforms in order, then one shift per storage binding, then the bindings', () => {
  assert.equal(affine.fields, [['count', 'u32'], ['alpha', 'f32'], ['k', 'i32'], ['xShift', 'u32'], ['outShift', 'u32']]);
  assert.match(affine.source, 'struct Params { count: u32, alpha: f32, k: i32, xShift: u32, outShift: u32 }');
  assert.match(affine.source, '@group(0) @binding(0) var<storage, read> x: array<f32>;');
  assert.match(affine.source, '@group(0) @binding(1) var<storage, read_write> out: array<f32>;');
  assert.match(affine.source, '@group(0) @binding(2) var<uniform> p: Params;');
  assert.match(affine.source, '@compute @workgroup_size(64)\nfn main(');
  assert.match(affine.source, 'fn flatWorkgroup(');
  assert.not.match(affine.source, 'enable f16');
  assert.match(affine4.source, 'array<vec4<f32>>');
  assert.not.match(affine4.source, 'fn flatWorkgroup(', 'only when the code uses it');
  const half = kernel({ name: 'h', bindings: { x: read('f16') }, workgroupSize: [8, 8], dispatch: () => 1, code: 'fn main() {}' });
  assert.match(half.source, 'enable f16;');
  assert.match(half.source, '@workgroup_size(8, 8)');
  assert.match(half.source, 'struct Params { xShift: u32 }');
});

s('a description is refused without one fn main, or with a uniform that clashes with a shift', () => {
  assert.throws(() => kernel({ name: 'none', bindings: {}, workgroupSize: 1, dispatch: () => 1, code: 'fn helper() {}' }), /fn main once/);
  assert.throws(() => kernel({ name: 'clash', bindings: { x: read() }, uniforms: { xShift: 'u32' }, workgroupSize: 1, dispatch: () => 1, code: 'fn main() {}' }), /xShift is declared twice/);
});

s('a family builds each variant once, keyed by the variant', () => {
  let made = 0;
  const family = kernelFamily('testFamily', (n: number) => {
    made++;
    return { name: `f${n}`, bindings: { out: write() }, workgroupSize: n, dispatch: () => 1, code: 'fn main() {}' };
  });
  assert.is(family(4), family(4));
  assert.is.not(family(4), family(8));
  assert.is(made, 2);
  assert.is(family(8).key, 'testFamily:8');
});

s('launch fills each binding\'s shift: bound at an element that is not on the alignment', async ({ rt }) => {
  const n = 300;
  const data = Float32Array.from({ length: n + 7 }, (_, i) => i * 0.5 - 3);
  const x = rt.tensor(data, [n + 7]);
  const out = rt.empty([n + 5]);
  // Elements 7.. of x into elements 5.. of out: both binds start before the data.
  const bx = rt.bind(x, 7, n), bo = rt.bind(out, 5, n);
  assert.ok(bx.shift > 0 && bo.shift > 0, 'the test needs non-zero shifts');
  rt.launch(affine, { x: bx, out: bo }, { count: n, alpha: 2, k: -1 });
  const got = await out.read();
  for (let i = 0; i < n; i++) assert.is(got[5 + i], data[7 + i]! * 2 - 1, `element ${i}`);
});

s('vec4 bindings take their shift in vec4s and must start on one', async ({ rt }) => {
  const x = rt.tensor(Float32Array.from({ length: 40 }, (_, i) => i), [40]);
  const out = rt.empty([40]);
  rt.launch(affine4, { x: rt.bind(x, 8, 32), out: rt.bind(out, 4, 32) }, { count: 8, alpha: 3 });
  const got = await out.read();
  for (let i = 0; i < 32; i++) assert.is(got[4 + i], (8 + i) * 3);
  const msg = thrown(() => rt.launch(affine4, { x: rt.bind(x, 2, 32), out }, { count: 8, alpha: 1 }));
  assert.match(msg, 'kernel testAffine4: binding x starts at element 2, not on a vec4');
});

s('launch refuses a missing, unknown or mistyped binding, naming the kernel', ({ rt }) => {
  const x = rt.tensor([1, 2], [2]), ids = rt.tensor([1, 2], [2], 'i32');
  const u = { count: 2, alpha: 1, k: 0 };
  const call = (b: Record<string, unknown>) => () => rt.launch(affine, b as never, u);
  assert.throws(call({ x }), (e: Error) => e instanceof WgpruneError && /kernel testAffine: binding out was not given/.test(e.message));
  assert.throws(call({ x, out: x, extra: x }), /kernel testAffine has no binding extra/);
  assert.throws(call({ x: ids, out: x }), (e: Error) => e instanceof DTypeError && /binding x takes f32, got i32/.test(e.message));
});

s('launch refuses a texture where a buffer goes, and a sampled texture where a storage texture goes', ({ rt }) => {
  const sampler = kernel({ name: 'testTextures', bindings: { t: texture, s: storageTexture }, workgroupSize: 1, dispatch: () => 1, code: 'fn main() { _ = textureLoad(t, vec2u(0u, 0u), 0); textureStore(s, vec2u(0u, 0u), vec4f(1.0)); }' });
  const tex = rt.device.createTexture({ size: [4, 4], format: 'rgba32float', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING });
  const sampled = { binding: tex.createView(), shift: 0, texture: 'texture' as const };
  const storage = { binding: tex.createView(), shift: 0, texture: 'storageTexture' as const };
  assert.match(thrown(() => rt.launch(sampler, { t: storage, s: storage }, {})), 'kernel testTextures: binding t takes a sampled texture, got a storage texture');
  assert.match(thrown(() => rt.launch(sampler, { t: sampled, s: sampled }, {})), 'binding s takes a storage texture, got a sampled texture');
  assert.match(thrown(() => rt.launch(sampler, { t: { binding: tex.createView(), shift: 0 }, s: storage }, {})), 'binding t takes a sampled texture, got a view of unknown kind');
  assert.match(thrown(() => rt.launch(affine, { x: sampled, out: rt.empty([2]) }, { count: 2, alpha: 1, k: 0 })), 'binding x takes a storage buffer, got a sampled texture');
  tex.destroy();
});

s('launch refuses a missing, unknown or unrepresentable uniform, naming the kernel', ({ rt }) => {
  const x = rt.tensor([1, 2], [2]), out = rt.empty([2]);
  const call = (u: Record<string, number>) => () => rt.launch(affine, { x, out }, u as never);
  assert.throws(call({ count: 2, alpha: 1 }), (e: Error) => e instanceof KernelError && /kernel testAffine: uniform k was not given/.test(e.message));
  assert.throws(call({ count: 2, alpha: 1, k: 0, beta: 1 }), /kernel testAffine has no uniform beta/);
  assert.throws(call({ count: -1, alpha: 1, k: 0 }), /uniform count = -1 is not a u32/);
  assert.throws(call({ count: 2, alpha: 1, k: 0.5 }), /uniform k = 0.5 is not a i32/);
  assert.throws(call({ count: 2, alpha: NaN, k: 0 }), /uniform alpha = NaN is not a f32/);
  assert.throws(call({ count: 2, alpha: 1, k: 0, xShift: 0 }), /xShift is filled by the launch/);
});

s('an invalid kernel is reported with its name at the next sync', async ({ rt }) => {
  const broken = { ...kernel({ name: 'broken-kernel', bindings: { out: write() }, workgroupSize: 1, dispatch: () => 1, code: 'fn main() {}' }), source: 'this is not wgsl' };
  rt.launch(broken, { out: rt.tensor([1], [1]) }, {});
  const msg = await rejected(() => rt.sync());
  assert.match(msg, 'kernel broken-kernel failed to compile');
});

s.run();
