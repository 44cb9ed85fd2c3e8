// PyTorch on the CPU as a Fisher peer: bench/peers/torch_fisher.py in a child process, fed
// the same weights and token batches through a temporary folder (weights.safetensors and
// batches.json). Needs a Python with torch; the bench says so and goes on without one.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeSafetensors } from '../../src/io/safetensors-write.js';
import type { SampleBatch } from '../../src/prune/fisher.js';
import { plainTensors, type PlainBert } from './bert-weights.js';
import type { FisherRun } from './tfjs-fisher.js';

// Both dist/bench/run.js and a bundle in scratch/x/ sit two folders below the repository root.
const script = fileURLToPath(new URL('../../bench/peers/torch_fisher.py', import.meta.url));

/**
 * The first Python that imports torch: $WGPRUNE_PYTHON, then `python3` on the PATH, then
 * Debian's /usr/bin/python3 (where `apt-get install python3-torch` puts torch, which a
 * python3 of pyenv or a virtual environment earlier on the PATH does not see). Returns the
 * command, or why none works.
 */
export function findTorchPython(): { python: string } | { skipped: string } {
  const tried: string[] = [];
  for (const python of [process.env.WGPRUNE_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!python || tried.some((t) => t.startsWith(`${python}:`))) continue;
    const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return { python };
    const why = r.error ? (r.error as NodeJS.ErrnoException).code ?? r.error.message : r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`;
    tried.push(`${python}: ${why}`);
  }
  return { skipped: `no Python with torch (${tried.join('; ')}); on Debian: apt-get install python3-torch libopenblas0-pthread` };
}

export function torchFisher(python: string, m: PlainBert, batches: readonly SampleBatch[], { threads = availableParallelism() } = {}): FisherRun & { maxRssMiB: number } {
  const dir = mkdtempSync(join(tmpdir(), 'wgprune-torch-'));
  try {
    const fd = openSync(join(dir, 'weights.safetensors'), 'w');
    try {
      for (const chunk of encodeSafetensors(plainTensors(m))) writeSync(fd, chunk);
    } finally {
      closeSync(fd);
    }
    const spec = {
      layers: m.layers, hidden: m.hidden, heads: m.heads, intermediate: m.intermediate, eps: m.eps, threads,
      batches: batches.map((b) => ({
        batch: b.tokens.batch, seq: b.tokens.seq, inputIds: Array.from(b.tokens.inputIds), attentionMask: Array.from(b.tokens.attentionMask),
        tokenTypeIds: Array.from(b.tokens.tokenTypeIds ?? new Int32Array(b.tokens.batch * b.tokens.seq)),
        labels: Array.from((b.target as { labels: Int32Array }).labels),
      })),
    };
    writeFileSync(join(dir, 'batches.json'), JSON.stringify(spec));
    const r = spawnSync(python, [script, dir], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`${python} ${script} exited with ${r.status ?? r.signal}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; warmupSeconds: number; head: number[]; neuron: number[]; maxRssKiB: number; torch: string; threads: number; blas: string };
    if (!/openblas|mkl|blis/i.test(out.blas)) console.log(`PyTorch ran on ${out.blas}: if that is the reference BLAS, it is several times slower than OpenBLAS (apt-get install libopenblas0-pthread)`);
    return {
      implementation: 'pytorch-cpu', adapter: `CPU: ${cpus()[0]?.model.trim() ?? 'unknown'}, ${out.threads} threads (PyTorch ${out.torch}, BLAS ${out.blas})`,
      seconds: out.seconds, warmupSeconds: out.warmupSeconds, head: Float64Array.from(out.head), neuron: Float64Array.from(out.neuron),
      maxRssMiB: out.maxRssKiB / 1024, note: 'torch.autograd.grad over per-example masks, float32, its own process',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
