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

// Decode path for CPU adapters (lavapipe 22.x / llvmpipe), M = 1. There every
// storage load inside a loop is a per-lane scalar loop with a bounds check
// (even X[k], uniform across lanes), and `if`s run masked on both sides, so
// cost ~ number of load instructions. Each thread computes MVR_R rows and
// shares each X load between them, the loop is unrolled by 4 elements (f32)
// or walks whole words (f16/bf16: 2 elements per load instead of 1), and has
// no branches (rows past N are clamped and never stored). No barriers.
const MVR_WG: u32 = 16u;
const MVR_R: u32 = 4u;

fn wf(word: u32) -> f32 { return bitcast<f32>(word); }

// Both elements of a packed f16/bf16 word (x = element 2j, the low half).
fn wpair(word: u32) -> vec2<f32> {
    if (WDTYPE == 1u) { return unpack2x16float(word); }
    return vec2<f32>(bitcast<f32>(word << 16u), bitcast<f32>(word & 0xffff0000u));
}

@compute @workgroup_size(16, 1, 1)
fn matvec_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let n0 = (flat_wg(wg, nwg) * MVR_WG + lid.x) * MVR_R;
    if (n0 >= P.n) { return; }
    let last = P.n - 1u;
    let kk = P.k;
    let e0 = n0 * kk;
    let e1 = min(n0 + 1u, last) * kk;
    let e2 = min(n0 + 2u, last) * kk;
    let e3 = min(n0 + 3u, last) * kk;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var s0 = 0.0;
    var s1 = 0.0;
    var s2 = 0.0;
    var s3 = 0.0;
    if (WDTYPE == 0u) {
        let k4 = kk & ~3u;
        for (var k = 0u; k < k4; k += 4u) {
            let x = vec4<f32>(X[k], X[k + 1u], X[k + 2u], X[k + 3u]);
            a0 = fma(x, vec4<f32>(wf(W[e0 + k]), wf(W[e0 + k + 1u]), wf(W[e0 + k + 2u]), wf(W[e0 + k + 3u])), a0);
            a1 = fma(x, vec4<f32>(wf(W[e1 + k]), wf(W[e1 + k + 1u]), wf(W[e1 + k + 2u]), wf(W[e1 + k + 3u])), a1);
            a2 = fma(x, vec4<f32>(wf(W[e2 + k]), wf(W[e2 + k + 1u]), wf(W[e2 + k + 2u]), wf(W[e2 + k + 3u])), a2);
            a3 = fma(x, vec4<f32>(wf(W[e3 + k]), wf(W[e3 + k + 1u]), wf(W[e3 + k + 2u]), wf(W[e3 + k + 3u])), a3);
        }
        for (var k = k4; k < kk; k++) {
            let x = X[k];
            s0 = fma(x, wf(W[e0 + k]), s0);
            s1 = fma(x, wf(W[e1 + k]), s1);
            s2 = fma(x, wf(W[e2 + k]), s2);
            s3 = fma(x, wf(W[e3 + k]), s3);
        }
    } else if ((kk & 1u) == 0u) {
        // Even K: every row starts on a word; word j of a row = elements 2j, 2j + 1.
        let j0 = e0 >> 1u;
        let j1 = e1 >> 1u;
        let j2 = e2 >> 1u;
        let j3 = e3 >> 1u;
        let h = kk >> 1u;
        let h2 = h & ~1u;
        for (var j = 0u; j < h2; j += 2u) {
            let k = 2u * j;
            let x = vec4<f32>(X[k], X[k + 1u], X[k + 2u], X[k + 3u]);
            a0 = fma(x, vec4<f32>(wpair(W[j0 + j]), wpair(W[j0 + j + 1u])), a0);
            a1 = fma(x, vec4<f32>(wpair(W[j1 + j]), wpair(W[j1 + j + 1u])), a1);
            a2 = fma(x, vec4<f32>(wpair(W[j2 + j]), wpair(W[j2 + j + 1u])), a2);
            a3 = fma(x, vec4<f32>(wpair(W[j3 + j]), wpair(W[j3 + j + 1u])), a3);
        }
        for (var j = h2; j < h; j++) {
            let k = 2u * j;
            let x = vec2<f32>(X[k], X[k + 1u]);
            s0 += dot(x, wpair(W[j0 + j]));
            s1 += dot(x, wpair(W[j1 + j]));
            s2 += dot(x, wpair(W[j2 + j]));
            s3 += dot(x, wpair(W[j3 + j]));
        }
    } else {
        // Odd K with packed halves: rows straddle words, decode element-wise.
        for (var k = 0u; k < kk; k++) {
            let x = X[k];
            s0 = fma(x, wval(W[widx(e0 + k)], e0 + k), s0);
            s1 = fma(x, wval(W[widx(e1 + k)], e1 + k), s1);
            s2 = fma(x, wval(W[widx(e2 + k)], e2 + k), s2);
            s3 = fma(x, wval(W[widx(e3 + k)], e3 + k), s3);
        }
    }
    let base = P.y_off + n0;
    Y[base] = (a0.x + a0.y) + (a0.z + a0.w) + s0;
    if (n0 + 1u < P.n) { Y[base + 1u] = (a1.x + a1.y) + (a1.z + a1.w) + s1; }
    if (n0 + 2u < P.n) { Y[base + 2u] = (a2.x + a2.y) + (a2.z + a2.w) + s2; }
    if (n0 + 3u < P.n) { Y[base + 3u] = (a3.x + a3.y) + (a3.z + a3.w) + s3; }
}

// CPU-adapter decode for M = 2..4: one thread per output column, no shared
// memory. Same contract as `matvec`.
@compute @workgroup_size(64, 1, 1)
fn matvec_rows_m4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
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
