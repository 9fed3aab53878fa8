// Y[m, y_off + n] = sum_k X[m, k] * W[n, k]   (W [out, in] like HuggingFace)
// X f32 [M, K]; W one row part [N, K] in f32/f16/bf16; Y f32 with row stride ldy.
// Forward: `matmul_tiled` (64x64 tile, 4x4 per thread) and `matvec` (M <= 4).
// Backward twins (dX = dY W, dW = dY^T X) go beside them.

struct MatmulParams {
    m: u32,
    k: u32,
    n: u32,
    ldy: u32,
    y_off: u32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

@group(0) @binding(0) var<uniform> P: MatmulParams;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;

// Shared tiles, vec4 per (k, thread): component i holds row/col t + 16 i.
var<workgroup> xs: array<vec4<f32>, 256>; // [TK][16]
var<workgroup> ws: array<vec4<f32>, 256>; // [TK][16]

fn load_x(m: u32, k: u32) -> f32 {
    if (m < P.m && k < P.k) { return X[m * P.k + k]; }
    return 0.0;
}

fn load_w(n: u32, k: u32) -> f32 {
    if (n < P.n && k < P.k) {
        let wi = n * P.k + k;
        return wval(W[widx(wi)], wi);
    }
    return 0.0;
}

@compute @workgroup_size(16, 16, 1)
fn matmul_tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let m0 = wg.y * TM;
    let n0 = wg.x * TN;
    let tx = lid.x;
    let ty = lid.y;
    // Tile loading: thread (tx, ty) loads k = k0 + tx of rows ty + 16 i.
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < P.k; k0 += TK) {
        let gk = k0 + tx;
        xs[tx * 16u + ty] = vec4<f32>(load_x(m0 + ty, gk), load_x(m0 + ty + 16u, gk), load_x(m0 + ty + 32u, gk), load_x(m0 + ty + 48u, gk));
        ws[tx * 16u + ty] = vec4<f32>(load_w(n0 + ty, gk), load_w(n0 + ty + 16u, gk), load_w(n0 + ty + 32u, gk), load_w(n0 + ty + 48u, gk));
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let a = xs[kk * 16u + ty];
            let b = ws[kk * 16u + tx];
            acc0 = fma(vec4<f32>(a.x), b, acc0);
            acc1 = fma(vec4<f32>(a.y), b, acc1);
            acc2 = fma(vec4<f32>(a.z), b, acc2);
            acc3 = fma(vec4<f32>(a.w), b, acc3);
        }
        workgroupBarrier();
    }
    store_row(m0 + ty, n0 + tx, acc0);
    store_row(m0 + ty + 16u, n0 + tx, acc1);
    store_row(m0 + ty + 32u, n0 + tx, acc2);
    store_row(m0 + ty + 48u, n0 + tx, acc3);
}

// acc.j is column n + 16 j of row m.
fn store_row(m: u32, n: u32, acc: vec4<f32>) {
    if (m >= P.m) { return; }
    let base = m * P.ldy + P.y_off;
    if (n < P.n) { Y[base + n] = acc.x; }
    if (n + 16u < P.n) { Y[base + n + 16u] = acc.y; }
    if (n + 32u < P.n) { Y[base + n + 32u] = acc.z; }
    if (n + 48u < P.n) { Y[base + n + 48u] = acc.w; }
}

// Decode path (M <= 4): 8 output columns per workgroup, 32 threads split K
// for each column (component m of the vec4 accumulator = row m of X), then a
// shared-memory tree reduction.
var<workgroup> red: array<vec4<f32>, 256>;

@compute @workgroup_size(256, 1, 1)
fn matvec(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let tid = lid.x;
    let lane = tid % 32u;
    let n = flat_wg(wg, nwg) * 8u + tid / 32u;
    var acc = vec4<f32>(0.0);
    if (n < P.n) {
        let wrow = n * P.k;
        for (var k = lane; k < P.k; k += 32u) {
            let wi = wrow + k;
            let w = wval(W[widx(wi)], wi);
            acc.x = fma(X[k], w, acc.x);
            if (P.m > 1u) { acc.y = fma(X[P.k + k], w, acc.y); }
            if (P.m > 2u) { acc.z = fma(X[2u * P.k + k], w, acc.z); }
            if (P.m > 3u) { acc.w = fma(X[3u * P.k + k], w, acc.w); }
        }
    }
    red[tid] = acc;
    workgroupBarrier();
    for (var s = 16u; s > 0u; s >>= 1u) {
        if (lane < s) { red[tid] += red[tid + s]; }
        workgroupBarrier();
    }
    if (lane == 0u && n < P.n) {
        let r = red[tid];
        let base = P.y_off + n;
        Y[base] = r.x;
        if (P.m > 1u) { Y[P.ldy + base] = r.y; }
        if (P.m > 2u) { Y[2u * P.ldy + base] = r.z; }
        if (P.m > 3u) { Y[3u * P.ldy + base] = r.w; }
    }
}

// Decode path for CPU adapters (lavapipe), where barriers are costly: one
// thread per output column, no shared memory. Same contract as `matvec`.
@compute @workgroup_size(64, 1, 1)
fn matvec_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let n = flat_wg(wg, nwg) * 64u + lid.x;
    if (n >= P.n) { return; }
    let wrow = n * P.k;
    var acc = vec4<f32>(0.0);
    for (var k = 0u; k < P.k; k++) {
        let wi = wrow + k;
        let w = wval(W[widx(wi)], wi);
        acc.x = fma(X[k], w, acc.x);
        if (P.m > 1u) { acc.y = fma(X[P.k + k], w, acc.y); }
        if (P.m > 2u) { acc.z = fma(X[2u * P.k + k], w, acc.z); }
        if (P.m > 3u) { acc.w = fma(X[3u * P.k + k], w, acc.w); }
    }
    let base = P.y_off + n;
    Y[base] = acc.x;
    if (P.m > 1u) { Y[P.ldy + base] = acc.y; }
    if (P.m > 2u) { Y[2u * P.ldy + base] = acc.z; }
    if (P.m > 3u) { Y[3u * P.ldy + base] = acc.w; }
}
