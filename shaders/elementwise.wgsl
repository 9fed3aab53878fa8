// Elementwise ops over n f32 elements (grid folded to 2D, 256 per workgroup):
// geglu_fwd: OUT = gelu_tanh(A) * B ; add_fwd: OUT = A + B ;
// softcap_fwd: OUT = cap * tanh(OUT / cap) in place.
// Backward twins go beside them.

struct EwParams {
    n: u32,
    cap: f32,
    _p0: u32,
    _p1: u32,
}

@group(0) @binding(0) var<uniform> P: EwParams;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;

fn gelu_tanh(x: f32) -> f32 {
    let sqrt_2_over_pi = 0.7978846;
    return 0.5 * x * (1.0 + tanh_safe(sqrt_2_over_pi * (x + 0.044715 * x * x * x)));
}

@compute @workgroup_size(256, 1, 1)
fn geglu_fwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_wg(wg, nwg) * 256u + lid.x;
    if (i >= P.n) { return; }
    OUT[i] = gelu_tanh(A[i]) * B[i];
}

@compute @workgroup_size(256, 1, 1)
fn add_fwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_wg(wg, nwg) * 256u + lid.x;
    if (i >= P.n) { return; }
    OUT[i] = A[i] + B[i];
}

@compute @workgroup_size(256, 1, 1)
fn softcap_fwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_wg(wg, nwg) * 256u + lid.x;
    if (i >= P.n) { return; }
    OUT[i] = P.cap * tanh_safe(OUT[i] / P.cap);
}
