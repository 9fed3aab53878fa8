// RMSNorm over rows of length dim: y = x * 1/sqrt(mean(x^2) + eps) * (1 + w),
// all in f32 (w in f32/f16/bf16). One workgroup per row. Per-head use
// (Gemma3 q_norm/k_norm): dim = head_dim, rows = tokens * heads.
// `rmsnorm_fwd`: Y = norm(X). `residual_rmsnorm_fwd`: R += norm(X) (Gemma2's
// post-attention / post-ffw norm fused with the residual add).
// Backward twin goes beside them.

struct NormParams {
    rows: u32,
    dim: u32,
    eps: f32,
    _p0: u32,
}

@group(0) @binding(0) var<uniform> P: NormParams;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

var<workgroup> red: array<f32, 256>;

fn row_inv_rms(row: u32, tid: u32) -> f32 {
    var ss = 0.0;
    for (var i = tid; i < P.dim; i += 256u) {
        let v = X[row * P.dim + i];
        ss = fma(v, v, ss);
    }
    red[tid] = ss;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (tid < s) { red[tid] += red[tid + s]; }
        workgroupBarrier();
    }
    return 1.0 / sqrt(red[0] / f32(P.dim) + P.eps);
}

@compute @workgroup_size(256, 1, 1)
fn rmsnorm_fwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = flat_wg(wg, nwg);
    if (row >= P.rows) { return; }
    let inv = row_inv_rms(row, lid.x);
    for (var i = lid.x; i < P.dim; i += 256u) {
        let w = wval(Wt[widx(i)], i);
        Y[row * P.dim + i] = X[row * P.dim + i] * inv * (1.0 + w);
    }
}

@compute @workgroup_size(256, 1, 1)
fn residual_rmsnorm_fwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = flat_wg(wg, nwg);
    if (row >= P.rows) { return; }
    let inv = row_inv_rms(row, lid.x);
    for (var i = lid.x; i < P.dim; i += 256u) {
        let w = wval(Wt[widx(i)], i);
        Y[row * P.dim + i] += X[row * P.dim + i] * inv * (1.0 + w);
    }
}
