import { geluBackwardKernel as geluGrad, geluForwardKernel as gelu, reluBackwardKernel as reluGrad, reluForwardKernel as relu,
  tanhBackwardKernel as tanhGrad, tanhForwardKernel as tanh } from '../../shaders/activation.js';
import type { Tensor } from '../runtime/tensor.js';
import { launchMap } from './launch.js';

/** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), as BERT's intermediate activation. */
export function geluForward(x: Tensor): Tensor {
  return launchMap(gelu, [x]);
}

/** dx from the forward input x and the upstream gradient dy. */
export function geluBackward(x: Tensor, dy: Tensor): Tensor {
  return launchMap(geluGrad, [x, dy]);
}

/** tanh, as BERT's pooler uses. */
export function tanhForward(x: Tensor): Tensor {
  return launchMap(tanh, [x]);
}

/** dx from the forward output y and the upstream gradient dy. */
export function tanhBackward(y: Tensor, dy: Tensor): Tensor {
  return launchMap(tanhGrad, [y, dy]);
}

/** max(x, 0), as DistilBERT's classification head uses. */
export function reluForward(x: Tensor): Tensor {
  return launchMap(relu, [x]);
}

/** dx from the forward input x and the upstream gradient dy. */
export function reluBackward(x: Tensor, dy: Tensor): Tensor {
  return launchMap(reluGrad, [x, dy]);
}
