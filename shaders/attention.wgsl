// Attention forward (prefill and decode against a KV cache), one workgroup
// per (query, head), online softmax over blocks of 64 keys, all in f32.
// Q [q_len, heads, hd]; K, V [>= kv_len, kv_heads, hd] (a cache may be longer:
// only the first kv_len rows are read); QPOS [q_len], KPOS [kv_len] absolute
// positions. Key j is kept for query i iff kpos <= qpos and, with a window
// W > 0, kpos + W > qpos (i.e. kpos > qpos - W). scores = q.k * scale, then
// cap * tanh(s / cap) when cap > 0. GQA: head h reads kv head h / (heads / kv_heads).
// A query that sees no key gets zeros. head_dim <= 512.
// Backward twin goes beside it.

struct AttnParams {
    q_len: u32,
    kv_len: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    window: u32,
    scale: f32,
    softcap: f32,
}

@group(0) @binding(0) var<uniform> P: AttnParams;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> QPOS: array<u32>;
@group(0) @binding(5) var<storage, read> KPOS: array<u32>;
@group(0) @binding(6) var<storage, read_write> O: array<f32>;

const BK: u32 = 64u;
const MAXC: u32 = 8u; // head_dim / 64 chunks per thread

var<workgroup> qs: array<f32, 512>;
var<workgroup> ps: array<f32, 64>;

@compute @workgroup_size(64, 1, 1)
fn attention_fwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let flat = flat_wg(wg, nwg);
    if (flat >= P.q_len * P.heads) { return; }
    let tid = lid.x;
    let hd = P.head_dim;
    let qi = flat / P.heads;
    let h = flat % P.heads;
    let kh = h / (P.heads / P.kv_heads);
    let qpos = QPOS[qi];
    for (var d = tid; d < hd; d += BK) { qs[d] = Q[flat * hd + d]; }
    workgroupBarrier();

    var m = NEG_BIG;
    var l = 0.0;
    var acc: array<f32, 8>;
    for (var c = 0u; c < MAXC; c++) { acc[c] = 0.0; }

    for (var j0 = 0u; j0 < P.kv_len; j0 += BK) {
        let j = j0 + tid;
        var s = NEG_BIG;
        if (j < P.kv_len) {
            let kp = KPOS[j];
            var keep = kp <= qpos;
            if (P.window > 0u) { keep = keep && (kp + P.window > qpos); }
            if (keep) {
                let kb = (j * P.kv_heads + kh) * hd;
                var sdot = 0.0;
                for (var d = 0u; d < hd; d++) { sdot = fma(qs[d], K[kb + d], sdot); }
                s = sdot * P.scale;
                if (P.softcap > 0.0) { s = P.softcap * tanh_safe(s / P.softcap); }
            }
        }
        ps[tid] = s;
        workgroupBarrier();
        let nb = min(BK, P.kv_len - j0);
        var bm = NEG_BIG;
        for (var jj = 0u; jj < nb; jj++) { bm = max(bm, ps[jj]); }
        let new_m = max(m, bm);
        let corr = exp(m - new_m);
        l = l * corr;
        for (var c = 0u; c < MAXC; c++) { acc[c] = acc[c] * corr; }
        for (var jj = 0u; jj < nb; jj++) {
            let p = ps[jj];
            if (p > -1.0e38) {
                let e = exp(p - new_m);
                l += e;
                let vb = ((j0 + jj) * P.kv_heads + kh) * hd;
                for (var c = 0u; c < MAXC; c++) {
                    let d = tid + c * BK;
                    if (d < hd) { acc[c] = fma(e, V[vb + d], acc[c]); }
                }
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
