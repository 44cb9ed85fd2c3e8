import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { matmul } from '../ops/matmul.js';
import { UsageError } from '../runtime/errors.js';
import { describeAdapter } from '../runtime/gpu.js';
import { createRuntime } from '../runtime/runtime.js';
import { bundledData, bundledSamples, closeRuntime } from './common.js';
import { evalCommand } from './eval.js';
import { pruneCommand } from './prune.js';

const help = `usage: wgprune demo [--adapter NAME] [--backend NAME] [--size M,K,N] [--constraint C] [--sample-count N] [--limit N] [--out DIR]

The main job on the bundled model and data: prints the WebGPU adapter and its limits,
checks a matmul against a float64 CPU product, then prunes the bundled sst2-mini (a
4-layer BERT) to 60% of its MACs with \`wgprune prune\` (Fisher information over the
bundled 2,048 SST-2 training sentences, search, rearrangement, mask tuning), writes the
smaller model to a folder, scores the unpruned and pruned models on the bundled SST-2 dev
set (PyTorch scores the unpruned model 0.8142), then loads the written folder and scores it.

  --adapter NAME     Dawn adapter to use (e.g. llvmpipe); default: the first one
  --backend NAME     Dawn backend (vulkan, metal, d3d12, ...); default: Dawn's choice
  --size M,K,N       matmul shape (default 512,768,768: BERT-base's attention projection)
  --constraint C     fraction of the MACs to keep (default 0.6)
  --sample-count N   training sentences for the Fisher information (default 2048)
  --limit N          score only the first N dev sentences
  --out DIR          where to write the pruned model (default: a new folder under the system's temp folder)`;

export async function demo(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      adapter: { type: 'string' }, backend: { type: 'string' }, size: { type: 'string', default: '512,768,768' }, limit: { type: 'string' },
      constraint: { type: 'string', default: '0.6' }, out: { type: 'string' }, 'sample-count': { type: 'string', default: '2048' }, help: { type: 'boolean' },
    },
  });
  if (values.help) { console.log(help); return; }
  const [M, K, N] = values.size!.split(',').map(Number) as [number, number, number];
  if (![M, K, N].every((d) => Number.isInteger(d) && d > 0)) throw new UsageError(`--size must be three positive integers M,K,N, got "${values.size}"`);

  const dawnOptions = [values.adapter && `adapter=${values.adapter}`, values.backend && `backend=${values.backend}`].filter(Boolean) as string[];
  const rt = await createRuntime({ dawnOptions });
  try {
    console.log(`adapter:  ${describeAdapter(rt.adapter)}`);
    const l = rt.limits;
    console.log(`limits:   ${l.maxStorageBufferBindingSize / 2 ** 20} MiB per storage binding, ${l.maxComputeInvocationsPerWorkgroup} invocations and ${l.maxComputeWorkgroupStorageSize / 1024} KiB shared memory per workgroup`);
    console.log(`features: ${Object.entries(rt.features).filter(([, on]) => on).map(([f]) => f).join(', ') || 'none'}`);

    const a = Float32Array.from({ length: M * K }, () => Math.random() * 2 - 1);
    const b = Float32Array.from({ length: K * N }, () => Math.random() * 2 - 1);
    const ta = rt.tensor(a, [M, K]), tb = rt.tensor(b, [K, N]);
    await matmul(ta, tb).read(); // compiles the pipeline
    const t0 = performance.now();
    const c = await matmul(ta, tb).read();
    const ms = performance.now() - t0;

    // Float32 sums of K products: the error is bounded by a small multiple of sqrt(K) ulps of Σ|a||b|.
    let worst = 0;
    for (let s = 0; s < 256; s++) {
      const i = Math.floor(Math.random() * M), j = Math.floor(Math.random() * N);
      let ref = 0, scale = 0;
      for (let k = 0; k < K; k++) { ref += a[i * K + k]! * b[k * N + j]!; scale += Math.abs(a[i * K + k]! * b[k * N + j]!); }
      worst = Math.max(worst, Math.abs(c[i * N + j]! - ref) / scale);
    }
    const ok = worst < 1e-5;
    console.log(`matmul:   ${M}x${K} @ ${K}x${N} in ${ms.toFixed(1)} ms with readback (${((2 * M * N * K) / ms / 1e6).toFixed(2)} GFLOP/s)`);
    console.log(`check:    worst error on 256 sampled entries ${worst.toExponential(2)} of Σ|a·b| (limit 1e-5): ${ok ? 'ok' : 'FAILED'}`);
    if (!ok) process.exitCode = 1;
  } finally {
    await closeRuntime(rt);
  }

  // The pruned model goes to a fresh folder (or --out), then is loaded from disk and scored.
  const out = values.out ?? join(await mkdtemp(join(tmpdir(), 'wgprune-demo-')), 'sst2-mini-pruned');
  console.log(`\nprune:    sst2-mini to ${values.constraint} of its MACs with mask tuning, written to ${out}; PyTorch scores the unpruned model 0.8142 on all 872 dev sentences`);
  await pruneCommand([
    '--task', 'sst2', '--samples', bundledSamples, '--sample-count', values['sample-count']!, `--constraint=${values.constraint}`,
    '--data', bundledData, '--out', out, ...(values.limit ? ['--limit', values.limit] : []), ...(values.adapter ? ['--adapter', values.adapter] : []),
  ]);
  console.log(`\nscore:    the written model, loaded from ${out}`);
  await evalCommand(['--model', out, '--task', 'sst2', '--data', bundledData, ...(values.limit ? ['--limit', values.limit] : []), ...(values.adapter ? ['--adapter', values.adapter] : [])]);
}
