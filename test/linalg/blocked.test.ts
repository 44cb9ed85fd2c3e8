import * as assert from 'uvu/assert';
import { solveDampedBlocked } from '../../src/linalg/blocked.js';
import { NotPositiveDefiniteError, solveDamped } from '../../src/linalg/cholesky.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { dampedResidual as residual, gramSystem } from '../reference/gram.js';

const rand = new Random();
const system = (k: number, rows: number, spread: number) => gramSystem(rand, k, rows, spread);

const s = gpuSuite('solveDampedBlocked');

// Float32 trailing updates, then float64 refinement: the residual must reach what the
// float64 CPU solve reaches (1e-10 relative; the CPU's is ~1e-13 here), and x agree with it.
for (const [k, rows, block, spread] of [[1, 3, 4, 0], [7, 20, 4, 0], [40, 25, 8, 0], [130, 300, 32, 1], [300, 200, 64, 2]] as const) {
  s(`k = ${k}, block ${block}, ${rows} rows, columns over ${spread} decades`, async ({ rt }) => {
    const { ata, atb } = system(k, rows, spread);
    const { x, residual: reported, refinements } = await solveDampedBlocked(rt, ata, atb, k, 1, { block });
    const measured = residual(ata, atb, x, k, 1);
    assert.ok(measured < 1e-10, `residual ${measured} after ${refinements} refinements`);
    assert.ok(Math.abs(measured - reported) <= 1e-12 + 1e-6 * measured, `reported residual ${reported} vs ${measured}`);
    const cpu = solveDamped(ata, atb, k, 1);
    const xScale = cpu.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < k; i++) assert.ok(Math.abs(x[i]! - cpu[i]!) <= 1e-8 * xScale, `x[${i}] ${x[i]} vs ${cpu[i]}`);
  });
}

s('refinement is needed: without it the float32 updates leave a larger residual', async ({ rt }) => {
  const k = 200;
  const { ata, atb } = system(k, 400, 2);
  const rough = await solveDampedBlocked(rt, ata, atb, k, 1, { block: 16, refinements: 0 });
  const refined = await solveDampedBlocked(rt, ata, atb, k, 1, { block: 16 });
  assert.ok(rough.residual > 100 * refined.residual, `unrefined ${rough.residual}, refined ${refined.residual}`);
  assert.ok(refined.refinements >= 1);
});

s('an indefinite matrix is reported, not solved', async ({ rt }) => {
  try {
    await solveDampedBlocked(rt, [4, 0, 3, 0, 4, 0, 3, 0, 1], [1, 1, 1], 3, 0, { block: 2 });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, NotPositiveDefiniteError);
    assert.match((e as Error).message, 'pivot 2 is');
  }
});

s('sizes that disagree are refused', async ({ rt }) => {
  try {
    await solveDampedBlocked(rt, [1, 2, 3], [1], 2, 1);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, 'solveDampedBlocked: expected a 2 x 2 matrix and 2 values, got 3 and 1');
  }
});

s.run();
