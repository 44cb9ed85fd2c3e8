// The transformer ops at BERT-base shapes: attention at batch 32 x seq 128 x 12 heads (GFLOP/s
// of its two products), and the memory-bound ops in GB/s of what they must read and write.
import { geluForward } from '../src/ops/activation.js';
import { attentionForward, disposeAttention } from '../src/ops/attention.js';
import { layernormForward } from '../src/ops/layernorm.js';
import { softmaxForward } from '../src/ops/softmax.js';
import type { Runtime } from '../src/runtime/runtime.js';
import type { Tensor } from '../src/runtime/tensor.js';
import type { Job } from './measure.js';

const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

export function opJobs(rt: Runtime, adapter: string): { jobs: Job[]; inputs: Tensor[] } {
  const inputs: Tensor[] = [];
  const T = (shape: number[]) => {
    const t = rt.tensor(random(shape.reduce((a, b) => a * b, 1)), shape);
    inputs.push(t);
    return t;
  };
  const base = { implementation: 'wgprune', adapter, host: 'node' as const, verify: async () => {} };
  const batch = 32, seq = 128, heads = 12, hidden = 768, tokens = batch * seq;
  const q = T([batch, seq, hidden]), k = T([batch, seq, hidden]), v = T([batch, seq, hidden]);
  const keyBias = rt.tensor(new Float32Array(batch * seq), [batch, seq]);
  inputs.push(keyBias);
  const x = T([tokens, hidden]), gamma = T([hidden]), beta = T([hidden]);
  const scores = T([batch * heads * seq, seq]);
  const pre = T([tokens, 3072]);
  const sync = async () => { await rt.sync(); };
  const jobs: Job[] = [
    {
      ...base, benchmark: 'attention forward', shape: `${batch}x${seq}x${heads}x${hidden / heads}`, unit: 'GFLOP/s',
      // QKᵀ and PV: 2 x 2 x batch x heads x seq² x headDim (the head split and merge are copies).
      work: (4 * batch * heads * seq * seq * (hidden / heads)) / 1e9,
      note: 'head split/merge, scaled masked softmax and both products',
      run: async () => {
        const r = attentionForward(q, k, v, heads, { keyBias });
        disposeAttention(r.saved);
        r.out.dispose();
        await sync();
      },
    },
    {
      ...base, benchmark: 'layernorm forward', shape: `${tokens}x${hidden}`, unit: 'GB/s', work: (2 * tokens * hidden * 4) / 1e9,
      run: async () => {
        const r = layernormForward(x, gamma, beta, 1e-12);
        for (const t of [r.y, r.mean, r.rstd]) t.dispose();
        await sync();
      },
    },
    {
      ...base, benchmark: 'softmax forward', shape: `${batch * heads * seq}x${seq}`, unit: 'GB/s', work: (2 * batch * heads * seq * seq * 4) / 1e9,
      run: async () => { softmaxForward(scores, { scale: 0.125 }).dispose(); await sync(); },
    },
    {
      ...base, benchmark: 'gelu forward', shape: `${tokens}x3072`, unit: 'GB/s', work: (2 * tokens * 3072 * 4) / 1e9,
      run: async () => { geluForward(pre).dispose(); await sync(); },
    },
  ];
  return { jobs, inputs };
}
