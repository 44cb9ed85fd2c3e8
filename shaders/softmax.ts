import { kernelFamily, read, write } from './kernel.js';
import { rowKernel, type VecRowVariant } from './rows.js';

/** The forward's variant: the row mapping, the access width, and whether an additive key mask is added. */
export interface SoftmaxForwardVariant extends VecRowVariant {
  hasBias: boolean;
}

/**
 * Softmax over the last axis of x * scale + bias, stable (the row's max is subtracted
 * before exp). `bias` is an additive key mask [batches, cols] shared by `rowsPerBatch`
 * consecutive rows (all heads and queries of one sequence): padded keys carry the float32
 * minimum, as Hugging Face does, and so get probability 0. `rowStart` is the first row of
 * this launch (for the row's batch). Without a bias the kernel never reads `bias`, but it
 * is still bound (the op binds x in its place; it stays scalar then).
 *
 * Two passes over the row. The first finds the max and the sum of exp(logit - max)
 * together (online softmax, Milakov and Gimelshein 2018: each invocation, and each lane of
 * a vec4, keeps its running max m and rescales its sum by exp(m - m') when the max grows
 * to m'; the lanes and invocations are then combined against the row's max). The second
 * writes exp(logit - max) / sum. With a bias, the first pass stores the logit in y and the
 * second reads it back, so x and the mask are read once an element; without one, the
 * second recomputes x * scale. Each invocation reads back only what it wrote itself.
 *
 * A workgroup a row, or (`rowPerThread`) one invocation a row and no barriers: on CPU
 * adapters (llvmpipe, SwiftShader) a barrier costs a coroutine switch of the whole
 * workgroup, and attention's rows are short: 8,192 rows of 32 took 197 ms with a workgroup
 * a row, against 1x-4x less this way (lavapipe, loaded machine; see the note of the
 * kernels issue). `vec4` reads and writes four columns an access (VecRowVariant).
 */
export const softmaxForwardKernel = kernelFamily('softmaxForward', (v: SoftmaxForwardVariant) => {
  const logit = v.hasBias ? 'x[xb + c] * p.scale + bias[bb + c]' : 'x[xb + c] * p.scale';
  return rowKernel(`softmaxForward${v.hasBias ? '[bias]' : ''}`, v, {
    bindings: { x: read('f32', { vec4: v.vec4 }), bias: read('f32', { vec4: v.vec4 && v.hasBias }), y: write('f32', { vec4: v.vec4 }) },
    uniforms: { rows: 'u32', cols: 'u32', rowsPerBatch: 'u32', scale: 'f32', rowStart: 'u32' },
    body: ({ T, loop, sum, max }) => /* wgsl */ `let xb = p.xShift + row * width;
  let yb = p.yShift + row * width;${v.hasBias ? '\n  let bb = p.biasShift + ((p.rowStart + row) / p.rowsPerBatch) * width;' : ''}
  var m = ${T}(bitcast<f32>(0xff7fffffu));
  var s = ${T}(0.0);
  ${loop(`let l = ${logit};${v.hasBias ? '\n    y[yb + c] = l;' : ''}
    let grown = max(m, l);
    s = s * exp(m - grown) + exp(l - grown);
    m = grown;`)}
  let rowMax = ${max('lanesMax(m)')};
  let inv = 1.0 / ${sum('lanesSum(s * exp(m - rowMax))')};
  ${loop(`y[yb + c] = exp(${v.hasBias ? 'y[yb + c]' : 'x[xb + c] * p.scale'} - rowMax) * inv;`)}`,
  });
});

/**
 * dx = scale * y * (dy - Σ dy y), from the forward output; a row per workgroup, or per
 * invocation (`rowPerThread`, see softmaxForwardKernel), scalar or vec4.
 */
export const softmaxBackwardKernel = kernelFamily('softmaxBackward', (v: VecRowVariant) => {
  const vector = read('f32', { vec4: v.vec4 });
  return rowKernel('softmaxBackward', v, {
    bindings: { y: vector, dy: vector, dx: write('f32', { vec4: v.vec4 }) },
    uniforms: { rows: 'u32', cols: 'u32', scale: 'f32' },
    body: ({ T, loop, sum }) => /* wgsl */ `let yb = p.yShift + row * width;
  let db = p.dyShift + row * width;
  var s = ${T}(0.0);
  ${loop('s += dy[db + c] * y[yb + c];')}
  let dot = ${sum('lanesSum(s)')};
  let ob = p.dxShift + row * width;
  ${loop('dx[ob + c] = p.scale * y[yb + c] * (dy[db + c] - dot);')}`,
  });
});
