// RMSNorm over rows of length dim: y = x * 1/sqrt(mean(x^2) + eps) * (1 + w),
// all in f32 (w in f32/f16/bf16). One workgroup per row. Per-head use
// (Gemma3 q_norm/k_norm): dim = head_dim, rows = tokens * heads.
// `rmsnorm_fwd`: Y = norm(X). `residual_rmsnorm_fwd`: R += norm(X) (Gemma2's
// post-attention / post-ffw norm fused with the residual add).
//
// Backward (r = 1/sqrt(mean(x^2) + eps), g = dy * (1 + w)), three dispatches:
// `rmsnorm_bwd_dx`: one workgroup per row, DX (+)= r*g - x * r^3/dim * sum(g*x),
//   and S[row] = r for the dw pass.
// `rmsnorm_bwd_dw_partial`: workgroups over (64-column block, block of rb_rows rows),
//   64 columns x 4 row lanes, coalesced; S[rows + rb*dim + c] = sum over the block's
//   rows of dy*x*r.
// `rmsnorm_bwd_dw_reduce`: one thread per column, DW[c] += the nrb partials in order
//   (deterministic: no atomics, a fixed summation order for a given shape).

struct NormParams {
    rows: u32,
    dim: u32,
    eps: f32,
    accumulate: u32, // bwd_dx: 1 = DX +=, 0 = DX =
    rb_rows: u32,    // bwd_dw: rows per row block (multiple of 4)
    nrb: u32,        // bwd_dw: number of row blocks
    _p0: u32,
    _p1: u32,
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

// ---- backward ----

@group(0) @binding(4) var<storage, read> DY: array<f32>;
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;
// Scratch: [rows] inverse rms, then [nrb, dim] dw partials.
@group(0) @binding(6) var<storage, read_write> S: array<f32>;
@group(0) @binding(7) var<storage, read_write> DW: array<f32>;

var<workgroup> red2: array<vec2<f32>, 256>;

@compute @workgroup_size(256, 1, 1)
fn rmsnorm_bwd_dx(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = flat_wg(wg, nwg);
    if (row >= P.rows) { return; }
    let tid = lid.x;
    let base = row * P.dim;
    var ss = 0.0;
    var sgx = 0.0;
    for (var i = tid; i < P.dim; i += 256u) {
        let x = X[base + i];
        let g = DY[base + i] * (1.0 + wval(Wt[widx(i)], i));
        ss = fma(x, x, ss);
        sgx = fma(g, x, sgx);
    }
    red2[tid] = vec2<f32>(ss, sgx);
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (tid < s) { red2[tid] += red2[tid + s]; }
        workgroupBarrier();
    }
    let tot = red2[0];
    let r = 1.0 / sqrt(tot.x / f32(P.dim) + P.eps);
    let c = tot.y * r * r * r / f32(P.dim);
    if (tid == 0u) { S[row] = r; }
    for (var i = tid; i < P.dim; i += 256u) {
        let g = DY[base + i] * (1.0 + wval(Wt[widx(i)], i));
        let d = r * g - X[base + i] * c;
        if (P.accumulate != 0u) {
            DX[base + i] += d;
        } else {
            DX[base + i] = d;
        }
    }
}

var<workgroup> redp: array<f32, 256>;

@compute @workgroup_size(64, 4, 1)
fn rmsnorm_bwd_dw_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let cbs = (P.dim + 63u) / 64u;
    let wgi = flat_wg(wg, nwg);
    if (wgi >= cbs * P.nrb) { return; }
    let rb = wgi / cbs;
    let col = (wgi % cbs) * 64u + lid.x;
    let r0 = rb * P.rb_rows;
    let r1 = min(r0 + P.rb_rows, P.rows);
    var acc = 0.0;
    if (col < P.dim) {
        for (var r = r0 + lid.y; r < r1; r += 4u) {
            let i = r * P.dim + col;
            acc = fma(DY[i] * X[i], S[r], acc);
        }
    }
    redp[lid.y * 64u + lid.x] = acc;
    workgroupBarrier();
    if (lid.y == 0u && col < P.dim) {
        S[P.rows + rb * P.dim + col] = (redp[lid.x] + redp[64u + lid.x]) + (redp[128u + lid.x] + redp[192u + lid.x]);
    }
}

@compute @workgroup_size(256, 1, 1)
fn rmsnorm_bwd_dw_reduce(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let col = flat_wg(wg, nwg) * 256u + lid.x;
    if (col >= P.dim) { return; }
    var acc = 0.0;
    for (var b = 0u; b < P.nrb; b++) {
        acc += S[P.rows + b * P.dim + col];
    }
    DW[col] += acc;
}
