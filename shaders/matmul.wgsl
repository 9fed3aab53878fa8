// Y[m, y_off + n] = sum_k X[m, k] * W[n, k]   (W [out, in] like HuggingFace)
// X f32 [M, K]; W one row part [N, K] in f32/f16/bf16; Y f32 with row stride ldy.
// Forward: `matmul_tiled` (64x64 tile, 4x4 per thread) and `matvec` (M <= 4).
// Backward (same 64x64 tiling, see below): `matmul_bwd_input` dX (+)= dY W and
// `matmul_bwd_weight` dW (+)= dY^T X, one dispatch per W / dW row part.

struct MatmulParams {
    m: u32,
    k: u32,
    n: u32,
    ldy: u32,
    y_off: u32,
    accumulate: u32, // backward: 1 = add into the output, 0 = overwrite it
    _p1: u32,
    _p2: u32,
}

@group(0) @binding(0) var<uniform> P: MatmulParams;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
// Backward only: the output gradient dY f32 [M, ldy].
@group(0) @binding(4) var<storage, read> DY: array<f32>;

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

// ---------------------------------------------------------------------------
// Backward. Same 64x64 output tile per 16x16 workgroup, 4x4 outputs per thread
// (rows r + 16 i, columns c + 16 j), reduction in steps of TK = 16 through the
// shared tiles xs / ws, as `matmul_tiled`. For one row part of W (forward):
// P.m = M, P.k = K, P.n = rows of the part, P.ldy = dY row stride (all N),
// P.y_off = first row of the part (= its first dY column).

// dY[m, y_off + n] of this part, 0 outside.
fn load_dy(m: u32, n: u32) -> f32 {
    if (m < P.m && n < P.n) { return DY[m * P.ldy + P.y_off + n]; }
    return 0.0;
}

// Y[i] = v, or Y[i] += v when accumulating.
fn put(i: u32, v: f32) {
    if (P.accumulate != 0u) {
        Y[i] += v;
    } else {
        Y[i] = v;
    }
}

// Output row `r` (< rows) of a [rows, P.k] result: acc.j goes to column c + 16 j.
fn put_row(r: u32, rows: u32, c: u32, acc: vec4<f32>) {
    if (r >= rows) { return; }
    let base = r * P.k;
    if (c < P.k) { put(base + c, acc.x); }
    if (c + 16u < P.k) { put(base + c + 16u, acc.y); }
    if (c + 32u < P.k) { put(base + c + 32u, acc.z); }
    if (c + 48u < P.k) { put(base + c + 48u, acc.w); }
}

// dX[m, k] (+)= sum_n dY[m, y_off + n] W[n, k] over the part's rows n; dX f32 [M, K] in Y.
// Workgroup (x, y) = output tile (columns k, rows m). The reduction runs over n.
@compute @workgroup_size(16, 16, 1)
fn matmul_bwd_input(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let m0 = wg.y * TM;
    let k0 = wg.x * TN;
    let tx = lid.x;
    let ty = lid.y;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var n0 = 0u; n0 < P.n; n0 += TK) {
        // xs[t][r].i = dY[m0 + r + 16 i, n0 + t] (threads along n: contiguous in dY);
        // ws[t][c].j = W[n0 + t, k0 + c + 16 j] (threads along k: contiguous in W).
        let gn = n0 + tx;
        xs[tx * 16u + ty] = vec4<f32>(load_dy(m0 + ty, gn), load_dy(m0 + ty + 16u, gn), load_dy(m0 + ty + 32u, gn), load_dy(m0 + ty + 48u, gn));
        let wn = n0 + ty;
        let gk = k0 + tx;
        ws[ty * 16u + tx] = vec4<f32>(load_w(wn, gk), load_w(wn, gk + 16u), load_w(wn, gk + 32u), load_w(wn, gk + 48u));
        workgroupBarrier();
        for (var t = 0u; t < TK; t++) {
            let a = xs[t * 16u + ty];
            let b = ws[t * 16u + tx];
            acc0 = fma(vec4<f32>(a.x), b, acc0);
            acc1 = fma(vec4<f32>(a.y), b, acc1);
            acc2 = fma(vec4<f32>(a.z), b, acc2);
            acc3 = fma(vec4<f32>(a.w), b, acc3);
        }
        workgroupBarrier();
    }
    put_row(m0 + ty, P.m, k0 + tx, acc0);
    put_row(m0 + ty + 16u, P.m, k0 + tx, acc1);
    put_row(m0 + ty + 32u, P.m, k0 + tx, acc2);
    put_row(m0 + ty + 48u, P.m, k0 + tx, acc3);
}

// dW[n, k] (+)= sum_m dY[m, y_off + n] X[m, k]; dW = this part's rows, f32 [P.n, K] in Y.
// Workgroup (x, y) = output tile (columns k, rows n). The reduction runs over m (tokens).
@compute @workgroup_size(16, 16, 1)
fn matmul_bwd_weight(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let n0 = wg.y * TM;
    let k0 = wg.x * TN;
    let tx = lid.x;
    let ty = lid.y;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var m0 = 0u; m0 < P.m; m0 += TK) {
        // xs[t][r].i = dY[m0 + t, n0 + r + 16 i]; ws[t][c].j = X[m0 + t, k0 + c + 16 j]
        // (threads along n and k: both contiguous in memory).
        let gm = m0 + ty;
        let gn = n0 + tx;
        xs[ty * 16u + tx] = vec4<f32>(load_dy(gm, gn), load_dy(gm, gn + 16u), load_dy(gm, gn + 32u), load_dy(gm, gn + 48u));
        let gk = k0 + tx;
        ws[ty * 16u + tx] = vec4<f32>(load_x(gm, gk), load_x(gm, gk + 16u), load_x(gm, gk + 32u), load_x(gm, gk + 48u));
        workgroupBarrier();
        for (var t = 0u; t < TK; t++) {
            let a = xs[t * 16u + ty];
            let b = ws[t * 16u + tx];
            acc0 = fma(vec4<f32>(a.x), b, acc0);
            acc1 = fma(vec4<f32>(a.y), b, acc1);
            acc2 = fma(vec4<f32>(a.z), b, acc2);
            acc3 = fma(vec4<f32>(a.w), b, acc3);
        }
        workgroupBarrier();
    }
    put_row(n0 + ty, P.n, k0 + tx, acc0);
    put_row(n0 + ty + 16u, P.n, k0 + tx, acc1);
    put_row(n0 + ty + 32u, P.n, k0 + tx, acc2);
    put_row(n0 + ty + 48u, P.n, k0 + tx, acc3);
}
