import { kernelFamily, read, storageTexture } from './kernel.js';

export const packWorkgroupSize = 64;

/**
 * Packs matrices from a storage buffer into an rgba32float texture, four consecutive columns
 * per texel: texel (x, bi * height + r) holds elements (r, 4x .. 4x+3) of matrix bi, zero
 * past the last column and in rows `rows` .. `height` - 1 (a matmul's B is padded to whole
 * vec4s of K this way, so the padding multiplies A's zero padding, never stale texels).
 * `trans` (1, else 0) reads each matrix stored transposed ([cols, rows], leading dimension
 * `ld`), so the kernel that samples the texture sees one layout whatever the operand's; f16
 * sources are widened to f32. Matrix bi starts at (bi / heads) · batchStride + (bi % heads) ·
 * headStride: with heads > 1, the heads of a [batch, seq, heads · headDim] tensor are read
 * as [batch · heads, seq, headDim] matrices where they lie, with no permuting copy first
 * (heads = 1: evenly spaced matrices). An invocation writes up to 16 texels of one texture
 * row; a launch covers texture rows `startRow` .. `endRow` - 1.
 *
 * Why textures: llvmpipe loads from a storage buffer one lane and one component at a time,
 * each with a bounds check and a branch (see shaders/matmul.ts), but fetches texels through
 * its sampler code, which computes the addresses of all lanes at once and has no per-lane
 * branch: a matmul that reads its operands from textures ran 2.6-3x faster there. Operands
 * whose rows are already texels are copied instead (src/ops/texture.ts); this kernel,
 * itself bound by per-lane loads, takes the rest.
 */
export interface PackVariant {
  srcType: 'f32' | 'f16';
  /**
   * Read a texel's four elements as one vec4 (untransposed f32, whole texels a row: cols,
   * ld, the strides and the shift multiples of 4): on llvmpipe a load costs the same per
   * lane whatever its width, so this is a quarter of the loads.
   */
  vec4: boolean;
}

/**
 * Texels of one texture row per invocation. An invocation finds its row's matrix, head and
 * row once (integer divisions, which llvmpipe does lane by lane) and then walks along the
 * row: with one texel an invocation and six divisions a texel, packing attention's heads
 * took as long as the products that read them.
 */
export const packTexelsPerThread = 16;

export const packTextureKernel = kernelFamily('packTexture', (v: PackVariant) => ({
  name: `packTexture${v.srcType === 'f16' ? '[f16]' : ''}${v.vec4 ? '[vec4]' : ''}`,
  bindings: { src: read(v.srcType, { vec4: v.vec4 }), dst: storageTexture },
  uniforms: {
    rows: 'u32', cols: 'u32', ld: 'u32', batchStride: 'u32', heads: 'u32', headStride: 'u32', width: 'u32', height: 'u32',
    trans: 'u32', startRow: 'u32', endRow: 'u32',
  },
  workgroupSize: packWorkgroupSize,
  dispatch: (u) => Math.ceil((u.endRow - u.startRow) * Math.ceil(u.width / packTexelsPerThread) / packWorkgroupSize),
  code: /* wgsl */ `
${v.vec4 ? '' : `fn element(base: u32, r: u32, c: u32) -> f32 {
  if (c >= p.cols || r >= p.rows) { return 0.0; }
  if (p.trans != 0u) { return f32(src[base + c * p.ld + r]); }
  return f32(src[base + r * p.ld + c]);
}`}

fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = flatWorkgroup(wid, nwg) * ${packWorkgroupSize}u + li;
  let chunks = (p.width + ${packTexelsPerThread - 1}u) / ${packTexelsPerThread}u;
  let y = p.startRow + id / chunks;
  if (y >= p.endRow) { return; }
  let x0 = (id % chunks) * ${packTexelsPerThread}u;
  let x1 = min(x0 + ${packTexelsPerThread}u, p.width);
  let bi = y / p.height;
  let r = y % p.height;
  let base = p.srcShift + (bi / p.heads) * p.batchStride + (bi % p.heads) * p.headStride;
  for (var x = x0; x < x1; x++) {
    ${v.vec4 ? `// Strides and shift in vec4s (the launch divides the shift; the op the others).
    var t = vec4f(0.0);
    if (r < p.rows) { t = src[base + r * p.ld + x]; }` : `let c = 4u * x;
    let t = vec4f(element(base, r, c), element(base, r, c + 1u), element(base, r, c + 2u), element(base, r, c + 3u));`}
    textureStore(dst, vec2u(x, y), t);
  }
}
`,
}));
