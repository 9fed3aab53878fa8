// AdamW step over one tensor part, elementwise (torch.optim.AdamW semantics, step t >= 1):
//   g  = clip * G                      (global-norm clipping folded in, clip = 1 when off)
//   W *= decay                          (decay = 1 - lr * weight_decay, 1 for excluded params)
//   M  = lerp(M, g, 1 - beta1)          (torch's lerp: two forms around weight 0.5)
//   V  = V * beta2 + (1 - beta2) * g * g
//   W += -step_size * M / (sqrt(V) / sqrt(1 - beta2^t) + eps),  step_size = lr / (1 - beta1^t)
// The bias corrections are computed on the host in f64 (as torch does with Python floats).

struct AdamParams {
    n: u32,
    decay: f32,
    one_minus_b1: f32,
    b2: f32,
    one_minus_b2: f32,
    eps: f32,
    step_size: f32,
    bc2_sqrt: f32,
    clip: f32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

@group(0) @binding(0) var<uniform> P: AdamParams;
@group(0) @binding(1) var<storage, read_write> W: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> M: array<f32>;
@group(0) @binding(4) var<storage, read_write> V: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn adamw_step(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_wg(wg, nwg) * 256u + lid.x;
    if (i >= P.n) { return; }
    let g = G[i] * P.clip;
    let w = W[i] * P.decay;
    var m = M[i];
    if (P.one_minus_b1 < 0.5) {
        m = m + P.one_minus_b1 * (g - m);
    } else {
        m = g - (g - m) * (1.0 - P.one_minus_b1);
    }
    let v = V[i] * P.b2 + P.one_minus_b2 * g * g;
    let denom = sqrt(v) / P.bc2_sqrt + P.eps;
    M[i] = m;
    V[i] = v;
    W[i] = w + (-P.step_size) * (m / denom);
}
