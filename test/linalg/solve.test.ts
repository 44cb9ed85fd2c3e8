import * as assert from 'uvu/assert';
import { blockedSolveFrom, solveNormalEquations } from '../../src/linalg/solve.js';
import { gpuSuite } from '../helpers/gpu.js';
import { Random } from '../helpers/random.js';
import { dampedResidual, gramSystem } from '../reference/gram.js';

const rand = new Random();

const pick = gpuSuite('solveNormalEquations');
pick('small systems on the CPU, large ones blocked: both solve to float64 accuracy', async ({ rt }) => {
  for (const k of [5, blockedSolveFrom]) {
    const { ata, atb } = gramSystem(rand, k, 40, 1);
    const x = await solveNormalEquations(rt, ata, atb, k, 1);
    const res = dampedResidual(ata, atb, x, k, 1);
    assert.ok(res < 1e-10, `k = ${k}: residual ${res}`);
  }
});
pick.run();
