import { kernelFamily, read, write } from './kernel.js';
import { mainSignature, rowKernel, type RowParts, type VecRowVariant } from './rows.js';

/**
 * WGSL computing a row's `mean` and `rstd` in one pass over `value` (an expression of the
 * column `c`, in units of T; `also` runs after it, with the value as `v`): Welford's update
 * per lane of each invocation (every lane of an invocation sees `n` values), combined over
 * lanes and invocations by Chan et al.'s formula, M2 = Σ (M2ᵢ + nᵢ (meanᵢ - mean)²). As
 * accurate as a second pass over x - mean (it stays so when |mean| is large against the
 * spread, unlike Σx² - n mean²), and it saves that pass: LayerNorm of 4096 x 768 took about
 * a fifth less time than with two passes for the statistics (vec4, llvmpipe).
 */
function welfordStatistics(parts: RowParts, value: string, also = ''): string {
  const { T, loop, sum } = parts;
  return /* wgsl */ `var n = 0.0;
  var mu = ${T}(0.0);
  var m2 = ${T}(0.0);
  ${loop(`let v = ${value};${also ? `\n    ${also}` : ''}
    n += 1.0;
    let d = v - mu;
    mu += d / n;
    m2 += d * (v - mu);`)}
  let mean = ${sum('n * lanesSum(mu)')} / f32(p.cols);
  let dm = mu - mean;
  let rstd = inverseSqrt(${sum('lanesSum(m2 + n * dm * dm)')} / f32(p.cols) + p.eps);`;
}

/**
 * LayerNorm over the last axis: y = (x - mean) * rstd * gamma + beta, one workgroup a row
 * or (`rowPerThread`, for CPU adapters, see softmax.ts) one invocation a row, scalar or
 * vec4 (VecRowVariant). Two passes over the row: mean and variance together (Welford,
 * `welfordStatistics`), then y. Saves mean and rstd for the backward.
 */
export const layernormForwardKernel = kernelFamily('layernormForward', (v: VecRowVariant) => {
  const vector = read('f32', { vec4: v.vec4 });
  return rowKernel('layernormForward', v, {
    bindings: { x: vector, gamma: vector, beta: vector, y: write('f32', { vec4: v.vec4 }), meanOut: write(), rstdOut: write() },
    uniforms: { rows: 'u32', cols: 'u32', eps: 'f32' },
    body: (parts) => /* wgsl */ `let xb = p.xShift + row * width;
  ${welfordStatistics(parts, 'x[xb + c]')}
  let yb = p.yShift + row * width;
  ${parts.loop('y[yb + c] = (x[xb + c] - mean) * rstd * gamma[p.gammaShift + c] + beta[p.betaShift + c];')}
  ${parts.once('meanOut[p.meanOutShift + row] = mean;\n    rstdOut[p.rstdOutShift + row] = rstd;')}`,
  });
});

/**
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma and
 * xhat = (x - mean) * rstd, a row per workgroup or per invocation, scalar or vec4.
 */
export const layernormBackwardKernel = kernelFamily('layernormBackward', (v: VecRowVariant) => {
  const vector = read('f32', { vec4: v.vec4 });
  return rowKernel('layernormBackward', v, {
    bindings: { x: vector, gamma: vector, meanIn: read(), rstdIn: read(), dy: vector, dx: write('f32', { vec4: v.vec4 }) },
    uniforms: { rows: 'u32', cols: 'u32' },
    body: ({ T, loop, sum }) => /* wgsl */ `let mean = meanIn[p.meanInShift + row];
  let rstd = rstdIn[p.rstdInShift + row];
  let xb = p.xShift + row * width;
  let db = p.dyShift + row * width;
  var sg = ${T}(0.0);
  var sgx = ${T}(0.0);
  ${loop('let g = dy[db + c] * gamma[p.gammaShift + c];\n    sg += g;\n    sgx += g * (x[xb + c] - mean);')}
  let n = f32(p.cols);
  let meanG = ${sum('lanesSum(sg)')} / n;
  let meanGX = ${sum('lanesSum(sgx)')} * rstd / n;
  let ob = p.dxShift + row * width;
  ${loop('let g = dy[db + c] * gamma[p.gammaShift + c];\n    dx[ob + c] = rstd * (g - meanG - (x[xb + c] - mean) * rstd * meanGX);')}`,
  });
});

/** The parameter backward's variant: its workgroup size, and vec4 accesses (four columns a thread). */
export interface ParamsBackwardVariant {
  size: number;
  vec4: boolean;
}

/**
 * dgamma[c] = Σ_rows dy * xhat and dbeta[c] = Σ_rows dy for one block of rows, one
 * thread a column, or four (`vec4`); reads coalesce across threads. Blocks' partial sums
 * are added after.
 */
export const layernormParamsBackwardKernel = kernelFamily('layernormParamsBackward', ({ size, vec4 }: ParamsBackwardVariant) => {
  const T = vec4 ? 'vec4f' : 'f32';
  const w = vec4 ? 4 : 1;
  return {
    name: `layernormParamsBackward${vec4 ? '[vec4]' : ''}`,
    bindings: { x: read('f32', { vec4 }), meanIn: read(), rstdIn: read(), dy: read('f32', { vec4 }), dgamma: write('f32', { vec4 }), dbeta: write('f32', { vec4 }) },
    uniforms: { rows: 'u32', cols: 'u32' },
    workgroupSize: size,
    dispatch: (u) => Math.ceil(u.cols / w / size),
    code: /* wgsl */ `
${mainSignature} {
  let c = flatWorkgroup(wid, nwg) * ${size}u + lid;
  let width = p.cols / ${w}u;
  if (c >= width) { return; }
  var sg = ${T}(0.0);
  var sb = ${T}(0.0);
  for (var r = 0u; r < p.rows; r++) {
    let d = dy[p.dyShift + r * width + c];
    sg += d * (x[p.xShift + r * width + c] - meanIn[p.meanInShift + r]) * rstdIn[p.rstdInShift + r];
    sb += d;
  }
  dgamma[p.dgammaShift + c] = sg;
  dbeta[p.dbetaShift + c] = sb;
}
`,
  };
});

/**
 * LayerNorm of a residual sum, y = LN(a + b), in one launch: the residual add and the
 * normalisation that follows it in every BERT block (issue 12). Writes the sum x = a + b
 * (float32, as a separate add would) for the backward, which is layernormBackward's on x,
 * with dx flowing to both a and b; and mean, rstd as layernormForward does. The mean and
 * variance are taken as the sum is made (`welfordStatistics`); y reads the stored sum back.
 *
 * `vec4` reads and writes four columns an access (`T` is vec4f, `cols` still counts
 * scalars): on software adapters every storage access is a per-lane loop with a bounds
 * check, so a vec4 costs about as much as a scalar (see mapKernel in common.ts). A row per
 * workgroup or (`rowPerThread`) per invocation, as the other row-wise kernels.
 */
export const addLayernormForwardKernel = kernelFamily('addLayernormForward', (v: VecRowVariant) => {
  const vector = read('f32', { vec4: v.vec4 });
  return rowKernel('addLayernormForward', v, {
    bindings: {
      a: vector, b: vector, gamma: vector, beta: vector,
      y: write('f32', { vec4: v.vec4 }), xOut: write('f32', { vec4: v.vec4 }), meanOut: write(), rstdOut: write(),
    },
    uniforms: { rows: 'u32', cols: 'u32', eps: 'f32' },
    body: (parts) => /* wgsl */ `let ab = p.aShift + row * width;
  let bb = p.bShift + row * width;
  let xb = p.xOutShift + row * width;
  ${welfordStatistics(parts, 'a[ab + c] + b[bb + c]', 'xOut[xb + c] = v;')}
  // Each invocation reads back only the sums it wrote itself.
  let yb = p.yShift + row * width;
  ${parts.loop('y[yb + c] = (xOut[xb + c] - mean) * rstd * gamma[p.gammaShift + c] + beta[p.betaShift + c];')}
  ${parts.once('meanOut[p.meanOutShift + row] = mean;\n    rstdOut[p.rstdOutShift + row] = rstd;')}`,
  });
});
