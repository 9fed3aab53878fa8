// Elementwise ops over n f32 elements (grid folded to 2D, 256 per workgroup):
// geglu_fwd: OUT = gelu_tanh(A) * B ; add_fwd: OUT = A + B ;
// softcap_fwd: OUT = cap * tanh(OUT / cap) in place.
// Backward: geglu_bwd: OUT = C * B * gelu'(A), OUT2 = C * gelu(A) (A = gate, B = up,
// C = dout); softcap_bwd: OUT *= 1 - (A / cap)^2 (A = the capped output y, OUT = dy).

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
@group(0) @binding(4) var<storage, read> C: array<f32>;
@group(0) @binding(5) var<storage, read_write> OUT2: array<f32>;

const SQRT_2_OVER_PI: f32 = 0.7978846;

fn gelu_tanh(x: f32) -> f32 {
    return 0.5 * x * (1.0 + tanh_safe(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

// d/dx gelu_tanh(x) = 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 * 0.044715 x^2),
// t = tanh(k (x + 0.044715 x^3)), k = sqrt(2/pi).
fn gelu_tanh_grad(x: f32) -> f32 {
    let t = tanh_safe(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 0.134145 * x * x);
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

@compute @workgroup_size(256, 1, 1)
fn geglu_bwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_wg(wg, nwg) * 256u + lid.x;
    if (i >= P.n) { return; }
    let g = A[i];
    let d = C[i];
    OUT[i] = d * B[i] * gelu_tanh_grad(g);
    OUT2[i] = d * gelu_tanh(g);
}

@compute @workgroup_size(256, 1, 1)
fn softcap_bwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_wg(wg, nwg) * 256u + lid.x;
    if (i >= P.n) { return; }
    let t = A[i] / P.cap;
    OUT[i] *= 1.0 - t * t;
}
