// Batched KV cache over a ragged batch of N tokens (no padding). Token i
// carries TOK[2i] = its sequence s and TOK[2i + 1] = its position p. A cache
// (one per layer, K and V) is [seqs * max_len, kv_heads, head_dim] and the
// key/value of (s, p) lives in row s * max_len + p.
//   kv_store:     DST[row(s_i, p_i), :] = SRC[i, :]      (this step's k or v)
//   kv_attention: O[i, h, :] = softmax(mask(cap(q.k * scale))) v over rows
//                 s_i * max_len + j, j in [lo, p_i] with lo = 0, or
//                 p_i + 1 - W on sliding-window layers (keep j iff j > p - W).
//                 Same math as attention.wgsl: one workgroup per (token, head),
//                 online softmax in f32 over blocks of 64 keys, GQA.
//   gather_rows:  DST[r, :] = SRC[TOK[r], :]   (the rows whose logits are wanted)
// Backward twins go beside them.

struct KvParams {
    n: u32,
    max_len: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    window: u32,
    scale: f32,
    softcap: f32,
}

@group(0) @binding(0) var<uniform> P: KvParams;
@group(0) @binding(1) var<storage, read> SRC: array<f32>;
@group(0) @binding(2) var<storage, read> TOK: array<u32>;
@group(0) @binding(3) var<storage, read_write> DST: array<f32>;
@group(0) @binding(4) var<storage, read> KC: array<f32>;
@group(0) @binding(5) var<storage, read> VC: array<f32>;
@group(0) @binding(6) var<storage, read_write> O: array<f32>;

// n tokens x (kv_heads * head_dim) elements
@compute @workgroup_size(256, 1, 1)
fn kv_store(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = P.kv_heads * P.head_dim;
    let idx = flat_wg(wg, nwg) * 256u + lid.x;
    if (idx >= P.n * row) { return; }
    let i = idx / row;
    let d = idx % row;
    let dst = (TOK[2u * i] * P.max_len + TOK[2u * i + 1u]) * row + d;
    DST[dst] = SRC[idx];
}

// n rows of head_dim elements (head_dim = the row length here)
@compute @workgroup_size(256, 1, 1)
fn gather_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let idx = flat_wg(wg, nwg) * 256u + lid.x;
    if (idx >= P.n * P.head_dim) { return; }
    let r = idx / P.head_dim;
    let d = idx % P.head_dim;
    DST[idx] = SRC[TOK[r] * P.head_dim + d];
}

const BK: u32 = 64u;
const MAXC: u32 = 8u; // head_dim / 64 chunks per thread

var<workgroup> qs: array<f32, 512>;
var<workgroup> ps: array<f32, 64>;
var<workgroup> wmeta: vec2<u32>;

// SRC = Q [n, heads, head_dim]; O [n, heads, head_dim]
@compute @workgroup_size(64, 1, 1)
fn kv_attention(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let flat = flat_wg(wg, nwg);
    if (flat >= P.n * P.heads) { return; }
    let tid = lid.x;
    let hd = P.head_dim;
    let qi = flat / P.heads;
    let h = flat % P.heads;
    let kh = h / (P.heads / P.kv_heads);
    if (tid == 0u) { wmeta = vec2<u32>(TOK[2u * qi], TOK[2u * qi + 1u]); }
    let sp = workgroupUniformLoad(&wmeta);
    let base_row = sp.x * P.max_len;
    let qpos = sp.y;
    var lo = 0u;
    if (P.window > 0u && qpos + 1u > P.window) { lo = qpos + 1u - P.window; }
    let hi = qpos + 1u;
    for (var d = tid; d < hd; d += BK) { qs[d] = SRC[flat * hd + d]; }
    workgroupBarrier();

    var m = NEG_BIG;
    var l = 0.0;
    var acc: array<f32, 8>;
    for (var c = 0u; c < MAXC; c++) { acc[c] = 0.0; }

    for (var j0 = lo; j0 < hi; j0 += BK) {
        let j = j0 + tid;
        var s = NEG_BIG;
        if (j < hi) {
            let kb = ((base_row + j) * P.kv_heads + kh) * hd;
            var sdot = 0.0;
            for (var d = 0u; d < hd; d++) { sdot = fma(qs[d], KC[kb + d], sdot); }
            s = sdot * P.scale;
            if (P.softcap > 0.0) { s = P.softcap * tanh_safe(s / P.softcap); }
        }
        ps[tid] = s;
        workgroupBarrier();
        let nb = min(BK, hi - j0);
        var bm = NEG_BIG;
        for (var jj = 0u; jj < nb; jj++) { bm = max(bm, ps[jj]); }
        let new_m = max(m, bm);
        let corr = exp(m - new_m);
        l = l * corr;
        for (var c = 0u; c < MAXC; c++) { acc[c] = acc[c] * corr; }
        for (var jj = 0u; jj < nb; jj++) {
            let e = exp(ps[jj] - new_m);
            l += e;
            let vb = ((base_row + j0 + jj) * P.kv_heads + kh) * hd;
            for (var c = 0u; c < MAXC; c++) {
                let d = tid + c * BK;
                if (d < hd) { acc[c] = fma(e, VC[vb + d], acc[c]); }
            }
        }
        m = new_m;
        workgroupBarrier();
    }
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var c = 0u; c < MAXC; c++) {
        let d = tid + c * BK;
        if (d < hd) { O[flat * hd + d] = acc[c] * inv; }
    }
}
