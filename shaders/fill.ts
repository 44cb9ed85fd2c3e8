import { kernel, write } from './kernel.js';

/** Writes one 32-bit word everywhere: poisoning new tensors with NaN bits in tests. */
export const fillWordsKernel = kernel({
  name: 'fillWords',
  bindings: { out: write('u32') },
  uniforms: { count: 'u32', value: 'u32' },
  workgroupSize: 256,
  dispatch: (u) => Math.ceil(u.count / 256),
  code: /* wgsl */ `
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * 256u + lid;
  if (i < p.count) { out[p.outShift + i] = p.value; }
}
`,
});
