import { WgpruneError } from '../runtime/errors.js';
import { checkCostShape, encoderMacs, headMacs, neuronMacs, type CostShape } from './flops.js';

export interface SearchResult {
  /** [layers][heads]: 1 kept, 0 pruned. */
  headMask: Uint8Array[];
  /** [layers][intermediate]: 1 kept, 0 pruned. */
  neuronMask: Uint8Array[];
  heads: number;
  neurons: number;
  /** MACs of the kept heads and neurons, and the fraction of the full encoder's that is. */
  macs: number;
  fraction: number;
  /** Σ of the kept heads' and neurons' importances. */
  score: number;
}

/**
 * Indices of `values` from the largest down; equal values keep index order, so the search
 * is deterministic.
 */
function ranked(values: Float64Array): Uint32Array {
  const order = Uint32Array.from(values.keys());
  return order.sort((a, b) => values[b]! - values[a]! || a - b);
}

function checkImportance(name: string, v: ArrayLike<number>, want: number): Float64Array {
  if (v.length !== want) throw new WgpruneError(`searchByFlops: ${want} ${name} importances expected (layers x ${name} per layer), got ${v.length}`);
  const out = Float64Array.from(v);
  const bad = out.findIndex((x) => !(x >= 0 && Number.isFinite(x)));
  if (bad >= 0) throw new WgpruneError(`searchByFlops: ${name} importance ${bad} is ${out[bad]}; Fisher importances are finite and >= 0`);
  return out;
}

/**
 * The mask search of docs/method.md step 2 under a MACs constraint: heads of all layers ranked
 * together by importance, neurons likewise; for every count h of kept heads (1 .. L·A) keep
 * as many neurons as the rest of the budget allows, n = floor((C·MACs_full − h·MACs_head) /
 * MACs_neuron), and keep the (h, n) whose top-h head and top-n neuron importances sum
 * highest. `headImportance` is [layers · heads] layer-major, `neuronImportance`
 * [layers · intermediate]; `constraint` is the fraction of the full MACs, in (0, 1).
 */
export function searchByFlops(
  headImportance: ArrayLike<number>, neuronImportance: ArrayLike<number>, shape: CostShape, constraint: number,
): SearchResult {
  checkCostShape(shape);
  if (!(constraint > 0 && constraint < 1)) throw new WgpruneError(`searchByFlops: the constraint is a fraction of the MACs in (0, 1), got ${constraint}`);
  const H = shape.layers * shape.heads, N = shape.layers * shape.intermediate;
  const hi = checkImportance('head', headImportance, H), ni = checkImportance('neuron', neuronImportance, N);
  const headOrder = ranked(hi), neuronOrder = ranked(ni);
  // Prefix sums of the ranked importances: the score of the top h (or n).
  const headTop = new Float64Array(H + 1), neuronTop = new Float64Array(N + 1);
  for (let i = 0; i < H; i++) headTop[i + 1] = headTop[i]! + hi[headOrder[i]!]!;
  for (let i = 0; i < N; i++) neuronTop[i + 1] = neuronTop[i]! + ni[neuronOrder[i]!]!;

  const budget = constraint * encoderMacs(shape), perHead = headMacs(shape), perNeuron = neuronMacs(shape);
  let best = { h: -1, n: -1, score: -Infinity };
  for (let h = 1; h <= H; h++) {
    const left = budget - h * perHead;
    if (left < 0) break;
    const n = Math.min(N, Math.floor(left / perNeuron));
    const score = headTop[h]! + neuronTop[n]!;
    if (score > best.score) best = { h, n, score };
  }
  if (best.h < 0) {
    throw new WgpruneError(`searchByFlops: a constraint of ${constraint} leaves ${budget.toExponential(3)} MACs, less than one head (${perHead.toExponential(3)})`);
  }

  const headMask = Array.from({ length: shape.layers }, () => new Uint8Array(shape.heads));
  const neuronMask = Array.from({ length: shape.layers }, () => new Uint8Array(shape.intermediate));
  for (let i = 0; i < best.h; i++) { const j = headOrder[i]!; headMask[Math.floor(j / shape.heads)]![j % shape.heads] = 1; }
  for (let i = 0; i < best.n; i++) { const j = neuronOrder[i]!; neuronMask[Math.floor(j / shape.intermediate)]![j % shape.intermediate] = 1; }
  const macs = encoderMacs(shape, best.h, best.n);
  return { headMask, neuronMask, heads: best.h, neurons: best.n, macs, fraction: macs / encoderMacs(shape), score: best.score };
}
