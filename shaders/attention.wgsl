// Training attention over PACKED sequences, forward and backward (FlashAttention-2 style tiles),
// everything in f32. Rows are tokens, sequences are contiguous and POS[i] restarts at 0 for each
// sequence. Query row i sees key row j iff first_key(i) <= j <= i, where first_key(i) is the start
// of i's sequence (i - POS[i]) and, with a window W > 0, at least i + 1 - W (j + W > i, which is
// pos_j > pos_i - W inside a sequence). A query always sees itself: no empty rows.
// scores s = q.k * scale, then cap * tanh(s / cap) when cap > 0; P = softmax = exp(s - lse).
// GQA: head h reads kv head h / (heads / kv_heads).
// Q, O, DOUT, DQ [n, heads, hd]; K, V, DK, DV [n, kv_heads, hd]; LSE, DELTA [n, heads]; hd <= 256.
// A row whose POS breaks the packing rule (POS[i] is neither 0 nor POS[i-1] + 1) gets NaN in O and
// LSE, so a malformed batch shows up as a NaN loss instead of silently wrong numbers; every read
// stays in bounds whatever POS holds.
//
// Entries (256 threads = a 16 x 16 tile, thread t = (r, c) = (t / 16, t % 16)):
//   attention_packed_fwd:   one workgroup per (16 query rows, head); online softmax over key tiles
//                           of 16; thread (r, c) scores key c of the tile for row r and owns
//                           output columns c, c + 16, ...
//   attention_packed_delta: DELTA = rowsum(DOUT * O) per (row, head).
//   attention_packed_dq:    query-major, one workgroup per (16 query rows, head):
//                           dq_i = scale * sum_j dS_ij k_j.
//   attention_packed_dkdv:  key-major, one workgroup per (16 key rows, kv head), looping over the
//                           heads of its group and the query tiles from its first key to the end of
//                           the sequence (or window): dv_j = sum_i P_ij dout_i,
//                           dk_j = scale * sum_i dS_ij q_i. Deterministic: no atomics.
// dS_ij = P_ij (dout_i.v_j - delta_i), times 1 - (s_ij / cap)^2 when capped.
// Dot products of a tile stage head_dim in chunks of 64 through workgroup memory.

struct PackedParams {
    n: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    window: u32, // 0 = none, else min(W, n)
    scale: f32,
    softcap: f32, // 0 = none
    _p0: u32,
}

@group(0) @binding(0) var<uniform> P: PackedParams;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> POS: array<u32>;
@group(0) @binding(5) var<storage, read_write> O: array<f32>;
@group(0) @binding(6) var<storage, read_write> LSE: array<f32>;
@group(0) @binding(7) var<storage, read> DOUT: array<f32>;
@group(0) @binding(8) var<storage, read_write> DELTA: array<f32>;
@group(0) @binding(9) var<storage, read_write> DQ: array<f32>;
@group(0) @binding(10) var<storage, read_write> DK: array<f32>;
@group(0) @binding(11) var<storage, read_write> DV: array<f32>;

const T: u32 = 16u; // tile rows (queries and keys)
const DC: u32 = 64u; // head_dim chunk staged per step
const BS: u32 = 65u; // padded row stride of the b tiles (read column-wise: no bank conflicts)
const MAXU: u32 = 16u; // head_dim / T columns per thread (head_dim <= 256)
const HALF_NEG: f32 = -1.0e38; // scores below this are masked (NEG_BIG)

var<workgroup> a1: array<f32, 1024>; // [T][DC] chunk of the workgroup's own rows
var<workgroup> a2: array<f32, 1024>;
var<workgroup> b1: array<f32, 1040>; // [T][BS] chunk of the tile's rows
var<workgroup> b2: array<f32, 1040>;
var<workgroup> pt: array<f32, 256>; // [T][T] scores / probabilities
var<workgroup> dt: array<f32, 256>; // [T][T] dS
var<workgroup> wu: u32; // a value thread 0 hands to the whole workgroup

fn nan() -> f32 {
    return bitcast<f32>(0x7fc00000u);
}

// First key row query row i may see (sequence start, raised by the window).
fn first_key(i: u32) -> u32 {
    var lo = i - min(POS[i], i);
    if (P.window > 0u && i + 1u > P.window) { lo = max(lo, i + 1u - P.window); }
    return lo;
}

// POS[i] breaks the packing rule (neither a sequence start nor the previous position + 1).
fn broken(i: u32) -> bool {
    let p = POS[i];
    return p != 0u && (i == 0u || POS[i - 1u] + 1u != p);
}

fn capped(s: f32) -> f32 {
    if (P.softcap > 0.0) { return P.softcap * tanh_safe(s / P.softcap); }
    return s;
}

// d(capped)/d(raw) expressed through the capped score.
fn cap_grad(sc: f32) -> f32 {
    if (P.softcap > 0.0) {
        let y = sc / P.softcap;
        return 1.0 - y * y;
    }
    return 1.0;
}

// Element d of (row, head) of a [n, nh, hd] array; 0 outside.
fn q_at(row: u32, head: u32, d: u32) -> f32 {
    if (row >= P.n || d >= P.head_dim) { return 0.0; }
    return Q[(row * P.heads + head) * P.head_dim + d];
}
fn k_at(row: u32, head: u32, d: u32) -> f32 {
    if (row >= P.n || d >= P.head_dim) { return 0.0; }
    return K[(row * P.kv_heads + head) * P.head_dim + d];
}
fn v_at(row: u32, head: u32, d: u32) -> f32 {
    if (row >= P.n || d >= P.head_dim) { return 0.0; }
    return V[(row * P.kv_heads + head) * P.head_dim + d];
}
fn do_at(row: u32, head: u32, d: u32) -> f32 {
    if (row >= P.n || d >= P.head_dim) { return 0.0; }
    return DOUT[(row * P.heads + head) * P.head_dim + d];
}

// a1[r] . b1[c] over the first `len` staged elements.
fn dot1(r: u32, c: u32, len: u32) -> f32 {
    var s = 0.0;
    for (var d = 0u; d < len; d++) { s = fma(a1[r * DC + d], b1[c * BS + d], s); }
    return s;
}
fn dot2(r: u32, c: u32, len: u32) -> f32 {
    var s = 0.0;
    for (var d = 0u; d < len; d++) { s = fma(a2[r * DC + d], b2[c * BS + d], s); }
    return s;
}

// Smallest first_key over the query rows i0.. of a block (thread 0 computes, all receive).
fn block_first_key(t: u32, i0: u32) -> u32 {
    if (t == 0u) {
        var lo = P.n;
        for (var r = 0u; r < T; r++) {
            if (i0 + r < P.n) { lo = min(lo, first_key(i0 + r)); }
        }
        wu = lo;
    }
    return workgroupUniformLoad(&wu);
}

@compute @workgroup_size(256, 1, 1)
fn attention_packed_fwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let flat = flat_wg(wg, nwg);
    let blocks = (P.n + T - 1u) / T;
    if (flat >= blocks * P.heads) { return; }
    let hd = P.head_dim;
    let h = flat % P.heads;
    let kh = h / (P.heads / P.kv_heads);
    let i0 = (flat / P.heads) * T;
    let t = lid.x;
    let r = t / T;
    let c = t % T;
    let i = i0 + r;
    let live = i < P.n;
    var lo = 0u;
    if (live) { lo = first_key(i); }
    let klo = block_first_key(t, i0);
    let khi = min(i0 + T, P.n);

    var m = NEG_BIG;
    var l = 0.0;
    var acc: array<f32, 16>;
    for (var u = 0u; u < MAXU; u++) { acc[u] = 0.0; }
    for (var j0 = klo; j0 < khi; j0 += T) {
        var s = 0.0;
        for (var d0 = 0u; d0 < hd; d0 += DC) {
            for (var e = t; e < T * DC; e += 256u) {
                let rr = e / DC;
                let dd = e % DC;
                a1[e] = q_at(i0 + rr, h, d0 + dd);
                b1[rr * BS + dd] = k_at(j0 + rr, kh, d0 + dd);
            }
            workgroupBarrier();
            s += dot1(r, c, min(DC, hd - d0));
            workgroupBarrier();
        }
        let j = j0 + c;
        var sc = NEG_BIG;
        if (live && j >= lo && j <= i) { sc = capped(s * P.scale); }
        pt[t] = sc;
        workgroupBarrier();
        var bm = NEG_BIG;
        for (var jj = 0u; jj < T; jj++) { bm = max(bm, pt[r * T + jj]); }
        let mn = max(m, bm);
        let corr = exp(m - mn);
        l *= corr;
        for (var u = 0u; u < MAXU; u++) { acc[u] *= corr; }
        for (var jj = 0u; jj < T; jj++) {
            let sj = pt[r * T + jj];
            if (sj > HALF_NEG) {
                let e = exp(sj - mn);
                l += e;
                let vb = ((j0 + jj) * P.kv_heads + kh) * hd;
                for (var u = 0u; u < MAXU; u++) {
                    let d = c + u * T;
                    if (d < hd) { acc[u] = fma(e, V[vb + d], acc[u]); }
                }
            }
        }
        m = mn;
        // pt is rewritten only after the next tile's staging barriers.
    }
    if (!live) { return; }
    let bad = broken(i);
    let ob = (i * P.heads + h) * hd;
    for (var u = 0u; u < MAXU; u++) {
        let d = c + u * T;
        if (d < hd) { O[ob + d] = select(acc[u] / l, nan(), bad); }
    }
    if (c == 0u) { LSE[i * P.heads + h] = select(m + log(l), nan(), bad); }
}

// 16 (row, head) pairs per workgroup, 16 lanes each.
@compute @workgroup_size(256, 1, 1)
fn attention_packed_delta(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let flat = flat_wg(wg, nwg);
    let pairs = P.n * P.heads;
    if (flat * T >= pairs) { return; }
    let t = lid.x;
    let r = t / T;
    let c = t % T;
    let pair = flat * T + r;
    var s = 0.0;
    if (pair < pairs) {
        let base = pair * P.head_dim;
        for (var d = c; d < P.head_dim; d += T) { s = fma(DOUT[base + d], O[base + d], s); }
    }
    pt[t] = s;
    workgroupBarrier();
    if (c == 0u && pair < pairs) {
        var sum = 0.0;
        for (var cc = 0u; cc < T; cc++) { sum += pt[r * T + cc]; }
        DELTA[pair] = sum;
    }
}

@compute @workgroup_size(256, 1, 1)
fn attention_packed_dq(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let flat = flat_wg(wg, nwg);
    let blocks = (P.n + T - 1u) / T;
    if (flat >= blocks * P.heads) { return; }
    let hd = P.head_dim;
    let h = flat % P.heads;
    let kh = h / (P.heads / P.kv_heads);
    let i0 = (flat / P.heads) * T;
    let t = lid.x;
    let r = t / T;
    let c = t % T;
    let i = i0 + r;
    let live = i < P.n;
    var lo = 0u;
    var lse = 0.0;
    var delta = 0.0;
    if (live) {
        lo = first_key(i);
        lse = LSE[i * P.heads + h];
        delta = DELTA[i * P.heads + h];
    }
    let klo = block_first_key(t, i0);
    let khi = min(i0 + T, P.n);

    var acc: array<f32, 16>;
    for (var u = 0u; u < MAXU; u++) { acc[u] = 0.0; }
    for (var j0 = klo; j0 < khi; j0 += T) {
        var s = 0.0;
        var dp = 0.0;
        for (var d0 = 0u; d0 < hd; d0 += DC) {
            for (var e = t; e < T * DC; e += 256u) {
                let rr = e / DC;
                let dd = e % DC;
                a1[e] = q_at(i0 + rr, h, d0 + dd);
                a2[e] = do_at(i0 + rr, h, d0 + dd);
                b1[rr * BS + dd] = k_at(j0 + rr, kh, d0 + dd);
                b2[rr * BS + dd] = v_at(j0 + rr, kh, d0 + dd);
            }
            workgroupBarrier();
            let len = min(DC, hd - d0);
            s += dot1(r, c, len);
            dp += dot2(r, c, len);
            workgroupBarrier();
        }
        let j = j0 + c;
        var ds = 0.0;
        if (live && j >= lo && j <= i) {
            let sc = capped(s * P.scale);
            ds = exp(sc - lse) * (dp - delta) * cap_grad(sc);
        }
        pt[t] = ds;
        workgroupBarrier();
        for (var jj = 0u; jj < T; jj++) {
            let g = pt[r * T + jj];
            if (g != 0.0) {
                let kb = ((j0 + jj) * P.kv_heads + kh) * hd;
                for (var u = 0u; u < MAXU; u++) {
                    let d = c + u * T;
                    if (d < hd) { acc[u] = fma(g, K[kb + d], acc[u]); }
                }
            }
        }
    }
    if (!live) { return; }
    let ob = (i * P.heads + h) * hd;
    for (var u = 0u; u < MAXU; u++) {
        let d = c + u * T;
        if (d < hd) { DQ[ob + d] = acc[u] * P.scale; }
    }
}

@compute @workgroup_size(256, 1, 1)
fn attention_packed_dkdv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let flat = flat_wg(wg, nwg);
    let blocks = (P.n + T - 1u) / T;
    if (flat >= blocks * P.kv_heads) { return; }
    let hd = P.head_dim;
    let kh = flat % P.kv_heads;
    let group = P.heads / P.kv_heads;
    let j0 = (flat / P.kv_heads) * T;
    let jl = min(j0 + T, P.n) - 1u; // last key row of the block
    let t = lid.x;
    let r = t / T; // key row j0 + r
    let c = t % T; // query row i0 + c of the tile
    let j = j0 + r;
    let jlive = j < P.n;

    var acck: array<f32, 16>;
    var accv: array<f32, 16>;
    for (var u = 0u; u < MAXU; u++) {
        acck[u] = 0.0;
        accv[u] = 0.0;
    }
    for (var gi = 0u; gi < group; gi++) {
        let h = kh * group + gi;
        var i0 = j0;
        loop {
            // Queries before j0 see none of these keys; from the first row whose sequence starts
            // after the block (or whose window has left it) on, none do.
            if (t == 0u) {
                var stop = i0 >= P.n;
                if (!stop) { stop = first_key(i0) > jl; }
                wu = select(0u, 1u, stop);
            }
            if (workgroupUniformLoad(&wu) != 0u) { break; }
            var s = 0.0;
            var dp = 0.0;
            for (var d0 = 0u; d0 < hd; d0 += DC) {
                for (var e = t; e < T * DC; e += 256u) {
                    let rr = e / DC;
                    let dd = e % DC;
                    a1[e] = k_at(j0 + rr, kh, d0 + dd);
                    a2[e] = v_at(j0 + rr, kh, d0 + dd);
                    b1[rr * BS + dd] = q_at(i0 + rr, h, d0 + dd);
                    b2[rr * BS + dd] = do_at(i0 + rr, h, d0 + dd);
                }
                workgroupBarrier();
                let len = min(DC, hd - d0);
                s += dot1(r, c, len);
                dp += dot2(r, c, len);
                workgroupBarrier();
            }
            let i = i0 + c;
            var pr = 0.0;
            var ds = 0.0;
            if (jlive && i < P.n && j <= i) {
                if (j >= first_key(i)) {
                    let sc = capped(s * P.scale);
                    pr = exp(sc - LSE[i * P.heads + h]);
                    ds = pr * (dp - DELTA[i * P.heads + h]) * cap_grad(sc);
                }
            }
            pt[t] = pr;
            dt[t] = ds;
            workgroupBarrier();
            for (var ii = 0u; ii < T; ii++) {
                let pv = pt[r * T + ii];
                let g = dt[r * T + ii];
                if (pv != 0.0 || g != 0.0) {
                    let qb = ((i0 + ii) * P.heads + h) * hd;
                    for (var u = 0u; u < MAXU; u++) {
                        let d = c + u * T;
                        if (d < hd) {
                            accv[u] = fma(pv, DOUT[qb + d], accv[u]);
                            acck[u] = fma(g, Q[qb + d], acck[u]);
                        }
                    }
                }
            }
            i0 += T;
        }
    }
    if (!jlive) { return; }
    let kb = (j * P.kv_heads + kh) * hd;
    for (var u = 0u; u < MAXU; u++) {
        let d = c + u * T;
        if (d < hd) {
            DK[kb + d] = acck[u] * P.scale;
            DV[kb + d] = accv[u];
        }
    }
}
