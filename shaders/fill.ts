/** Writes one 32-bit word everywhere: poisoning new tensors with NaN bits in tests. */
export const fillWordsSource = /* wgsl */ `
struct Params { count: u32, value: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i < params.count) { out[i] = params.value; }
}
`;
