import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { mapWorkgroupSize } from './common.js';
import { kernelFamily, read, write } from './kernel.js';

/**
 * An id clamped into the table's [0, tableRows) rows, as u32. The ops check ids on the host
 * when they can; this keeps a bad id on the device from reading outside the table (it
 * reads the first or last row instead).
 */
const clampId = /* wgsl */ `
fn clampId(id: i32, tableRows: u32) -> u32 {
  return u32(clamp(id, 0, i32(tableRows) - 1));
}
`;

/**
 * One table's share of the embedding sum: out[t, c] = table[id[t], c] (or += with
 * `accumulate`), for the tokens of this launch whose id falls in the table rows
 * [rowStart, rowStart + rowCount) bound here. A table larger than one binding is bound in
 * pieces over several launches; each token's row lies in exactly one of them, so every
 * output element is written exactly once per table.
 */
export const embeddingGatherKernel = kernelFamily('embeddingGather', (accumulate: boolean) => ({
  name: `embeddingGather${accumulate ? '[add]' : ''}`,
  bindings: { ids: read('i32'), table: read(), out: write() },
  uniforms: { count: 'u32', hidden: 'u32', tableRows: 'u32', rowStart: 'u32', rowCount: 'u32' },
  workgroupSize: mapWorkgroupSize,
  dispatch: (u) => Math.ceil(u.count / mapWorkgroupSize),
  code: wgsl`
${clampId}
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * ${mapWorkgroupSize}u + lid;
  if (i >= p.count) { return; }
  let t = i / p.hidden;
  let id = clampId(ids[p.idsShift + t], p.tableRows);
  if (id < p.rowStart || id - p.rowStart >= p.rowCount) { return; }
  let v = table[p.tableShift + (id - p.rowStart) * p.hidden + i % p.hidden];
#if ${accumulate}
  out[p.outShift + i] += v;
#else
  out[p.outShift + i] = v;
#endif
}
`,
}));

/**
 * A stable counting sort of a chunk of token ids: token t goes to rank
 * #{u : (id[u], u) < (id[t], t)}, so sortedIds is ascending and tokens of one id keep
 * their order. O(tokens²) comparisons, read through workgroup-memory tiles: 17 M for the
 * 4,096 tokens of a batch, small beside one encoder layer.
 */
export const embeddingSortKernel = kernelFamily('embeddingSort', (size: number) => ({
  name: 'embeddingSort',
  bindings: { ids: read('i32'), sortedIds: write('u32'), order: write('u32') },
  uniforms: { count: 'u32', tableRows: 'u32' },
  workgroupSize: size,
  dispatch: (u) => Math.ceil(u.count / size),
  code: /* wgsl */ `
var<workgroup> tile: array<u32, ${size}>;
${clampId}
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let first = flatWorkgroup(wid, nwg) * ${size}u;
  // Whole workgroups leave together, so the barriers below stay uniform.
  if (first >= p.count) { return; }
  let t = first + lid;
  let mine = t < p.count;
  var key = 0u;
  if (mine) { key = clampId(ids[p.idsShift + t], p.tableRows); }
  var rank = 0u;
  for (var base = 0u; base < p.count; base += ${size}u) {
    if (base + lid < p.count) { tile[lid] = clampId(ids[p.idsShift + base + lid], p.tableRows); }
    workgroupBarrier();
    let n = min(${size}u, p.count - base);
    for (var k = 0u; k < n; k++) {
      let other = tile[k];
      if (other < key || (other == key && base + k < t)) { rank++; }
    }
    workgroupBarrier();
  }
  if (mine) {
    sortedIds[p.sortedIdsShift + rank] = key;
    order[p.orderShift + rank] = t;
  }
}
`,
}));

export interface EmbeddingGradRowsVariant {
  size: number;
  accumulate: boolean;
}

/**
 * The gradient of one table from sorted ids: one workgroup per table row v finds v's run
 * in sortedIds by binary search and sums the dOut rows of its tokens, in token order, so
 * the result is the same bits on every run. Rows no token uses, and the padding row,
 * get exactly 0. With `accumulate` a later chunk of tokens adds to the earlier ones.
 */
export const embeddingGradRowsKernel = kernelFamily('embeddingGradRows', ({ size, accumulate }: EmbeddingGradRowsVariant) => ({
  name: `embeddingGradRows${accumulate ? '[add]' : ''}`,
  bindings: { sortedIds: read('u32'), order: read('u32'), dOut: read(), dTable: write() },
  uniforms: { rows: 'u32', rowStart: 'u32', hidden: 'u32', tokens: 'u32', paddingRow: 'i32' },
  workgroupSize: size,
  dispatch: (u) => u.rows,
  code: wgsl`
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flatWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }
  let v = p.rowStart + row;
  var lo = 0u;
  var hi = p.tokens;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (sortedIds[p.sortedIdsShift + mid] < v) { lo = mid + 1u; } else { hi = mid; }
  }
  var end = lo;
  if (i32(v) != p.paddingRow) {
    while (end < p.tokens && sortedIds[p.sortedIdsShift + end] == v) { end++; }
  }
  for (var c = lid; c < p.hidden; c += ${size}u) {
    var acc = 0.0;
    for (var r = lo; r < end; r++) { acc += dOut[p.dOutShift + order[p.orderShift + r] * p.hidden + c]; }
#if ${accumulate}
    dTable[p.dTableShift + row * p.hidden + c] += acc;
#else
    dTable[p.dTableShift + row * p.hidden + c] = acc;
#endif
  }
}
`,
}));
