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

var<workgroup> xs: array<f32, 1024>; // [TK][TM]
var<workgroup> ws: array<f32, 1024>; // [TK][TN]

@compute @workgroup_size(16, 16, 1)
fn matmul_tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let m0 = wg.y * TM;
    let n0 = wg.x * TN;
    let tx = lid.x;
    let ty = lid.y;
    let tid = ty * 16u + tx;
    var acc: array<array<f32, 4>, 4>;
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = 0.0; }
    }
    for (var k0 = 0u; k0 < P.k; k0 += TK) {
        for (var r = 0u; r < 4u; r++) {
            let e = tid + r * 256u;
            let row = e / TK;
            let kk = e % TK;
            let gk = k0 + kk;
            var xv = 0.0;
            if (m0 + row < P.m && gk < P.k) { xv = X[(m0 + row) * P.k + gk]; }
            xs[kk * TM + row] = xv;
            var wv = 0.0;
            if (n0 + row < P.n && gk < P.k) {
                let wi = (n0 + row) * P.k + gk;
                wv = wval(W[widx(wi)], wi);
            }
            ws[kk * TN + row] = wv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            var a: array<f32, 4>;
            var b: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                a[i] = xs[kk * TM + ty + 16u * i];
                b[i] = ws[kk * TN + tx + 16u * i];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let m = m0 + ty + 16u * i;
        if (m >= P.m) { continue; }
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + tx + 16u * j;
            if (n < P.n) { Y[m * P.ldy + P.y_off + n] = acc[i][j]; }
        }
    }
}

// Decode path (M <= 4): 8 output columns per workgroup, 32 threads split K
// for each column, then a shared-memory tree reduction.
var<workgroup> red: array<f32, 1024>; // [4 rows][256 threads]

@compute @workgroup_size(256, 1, 1)
fn matvec(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let tid = lid.x;
    let lane = tid % 32u;
    let n = flat_wg(wg, nwg) * 8u + tid / 32u;
    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    if (n < P.n) {
        let wrow = n * P.k;
        for (var k = lane; k < P.k; k += 32u) {
            let wi = wrow + k;
            let w = wval(W[widx(wi)], wi);
            for (var m = 0u; m < 4u; m++) {
                if (m < P.m) { acc[m] = fma(X[m * P.k + k], w, acc[m]); }
            }
        }
    }
    for (var m = 0u; m < 4u; m++) { red[m * 256u + tid] = acc[m]; }
    workgroupBarrier();
    for (var s = 16u; s > 0u; s >>= 1u) {
        if (lane < s) {
            for (var m = 0u; m < 4u; m++) { red[m * 256u + tid] += red[m * 256u + tid + s]; }
        }
        workgroupBarrier();
    }
    if (lane == 0u && n < P.n) {
        for (var m = 0u; m < 4u; m++) {
            if (m < P.m) { Y[m * P.ldy + P.y_off + n] = red[m * 256u + tid]; }
        }
    }
}
