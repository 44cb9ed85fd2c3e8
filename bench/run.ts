import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeAdapter } from '../src/runtime/gpu.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { matmulJobs } from './matmul.js';
import { measure, printTable } from './measure.js';

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    time: { type: 'string', default: '2000' },
    filter: { type: 'string' },
  },
});

const rt = await createRuntime();
console.log(`adapter: ${describeAdapter(rt.adapter)}`);
const { jobs, inputs } = matmulJobs(rt);
const selected = values.filter ? jobs.filter((j) => `${j.benchmark} ${j.shape}`.includes(values.filter!)) : jobs;
const records = await measure(rt, selected, { timeMs: Number(values.time) });
printTable(records);
if (values.json) {
  writeFileSync(values.json, JSON.stringify(records, null, 2) + '\n');
  console.log(`wrote ${records.length} records to ${values.json}`);
}
for (const t of inputs) t.dispose();
rt.destroy();
