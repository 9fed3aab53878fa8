// Token log-probabilities over the vocabulary, f32 throughout. LOGITS [rows, V] is one row
// part of the logits (already soft-capped when the model caps); TARGETS / LSE / LOGPROB /
// COEF are indexed from row0 (the part's first row). Targets must be < V (callers check on
// the host); a target >= V reads no logit: logprob = NEG_BIG, and no one-hot in the gradient.
// xent_fwd: one workgroup per row, per-thread online (max, sum exp) over a stride-256 loop,
//   then a tree merge: LSE = logsumexp(row), LOGPROB = row[target] - LSE.
// xent_bwd: workgroups over (row, 1024-column block), in place:
//   LOGITS = coef * (exp(y - lse) - onehot(target)) [* (1 - (y/cap)^2) when use_cap].

struct XentParams {
    rows: u32,
    v: u32,
    row0: u32,
    col_blocks: u32, // bwd: 1024-column blocks per row
    cap: f32,
    use_cap: u32,
    _p0: u32,
    _p1: u32,
}

@group(0) @binding(0) var<uniform> P: XentParams;
@group(0) @binding(1) var<storage, read_write> LOGITS: array<f32>;
@group(0) @binding(2) var<storage, read> TARGETS: array<u32>;
@group(0) @binding(3) var<storage, read_write> LSE: array<f32>;
@group(0) @binding(4) var<storage, read_write> LOGPROB: array<f32>;
@group(0) @binding(5) var<storage, read> COEF: array<f32>;

var<workgroup> red_m: array<f32, 256>;
var<workgroup> red_s: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn xent_fwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = flat_wg(wg, nwg);
    if (row >= P.rows) { return; }
    let tid = lid.x;
    let base = row * P.v;
    var m = NEG_BIG;
    var s = 0.0;
    for (var i = tid; i < P.v; i += 256u) {
        let y = LOGITS[base + i];
        if (y > m) {
            s = s * exp(m - y) + 1.0;
            m = y;
        } else {
            s += exp(y - m);
        }
    }
    red_m[tid] = m;
    red_s[tid] = s;
    workgroupBarrier();
    for (var st = 128u; st > 0u; st >>= 1u) {
        if (tid < st) {
            let m1 = red_m[tid];
            let m2 = red_m[tid + st];
            let mm = max(m1, m2);
            red_s[tid] = red_s[tid] * exp(m1 - mm) + red_s[tid + st] * exp(m2 - mm);
            red_m[tid] = mm;
        }
        workgroupBarrier();
    }
    if (tid == 0u) {
        let r = P.row0 + row;
        let lse = red_m[0] + log(red_s[0]);
        LSE[r] = lse;
        let t = TARGETS[r];
        var lp = NEG_BIG;
        if (t < P.v) { lp = LOGITS[base + t] - lse; }
        LOGPROB[r] = lp;
    }
}

@compute @workgroup_size(256, 1, 1)
fn xent_bwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let wgi = flat_wg(wg, nwg);
    let row = wgi / P.col_blocks;
    if (row >= P.rows) { return; }
    let r = P.row0 + row;
    let lse = LSE[r];
    let coef = COEF[r];
    let t = TARGETS[r];
    let base = row * P.v;
    let c0 = (wgi % P.col_blocks) * 1024u + lid.x;
    for (var k = 0u; k < 4u; k++) {
        let col = c0 + k * 256u;
        if (col < P.v) {
            let y = LOGITS[base + col];
            var g = exp(y - lse);
            if (col == t) { g -= 1.0; }
            g *= coef;
            if (P.use_cap != 0u) {
                let u = y / P.cap;
                g *= 1.0 - u * u;
            }
            LOGITS[base + col] = g;
        }
    }
}
