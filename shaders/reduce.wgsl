// Deterministic sums of squares of f32 buffers (gradient norms, AdaFactor's update RMS), in
// fixed-shape stages so the result never depends on scheduling:
//   sumsq_partials: one workgroup per 4096-element chunk of X -> one partial pair in PART;
//   sumsq_ranges:   one workgroup per range of partial pairs (one tensor) -> one pair in OUT;
//   sumsq_total:    one workgroup: pairs 1..=count of OUT -> pair 0 of OUT.
// A pair is (sum of squares as f32 bits, count of non-finite elements / chunks). Non-finite
// elements (NaN, +-Inf: exponent bits all ones, tested on the bits so no fast-math assumption
// can drop the test) are counted and left out of the sum, so the count says which tensor broke.
// Within a workgroup: per-thread strided sums (coalesced), then a 256-wide tree; the range and
// total stages add a Kahan compensation to their per-thread serial sums.

struct ReduceParams {
    n: u32,         // sumsq_partials: elements of X; sumsq_ranges / sumsq_total: number of ranges
    out_off: u32,   // first pair written (partials / ranges); first pair read (total)
    range_off: u32, // sumsq_ranges: first range of RANGES used
    _p0: u32,
}

@group(0) @binding(0) var<uniform> P: ReduceParams;
@group(0) @binding(1) var<storage, read> X: array<u32>;
@group(0) @binding(2) var<storage, read_write> PART: array<u32>;
@group(0) @binding(3) var<storage, read> RANGES: array<u32>;
@group(0) @binding(4) var<storage, read_write> OUT: array<u32>;

const CHUNK_ITERS: u32 = 16u; // 256 threads x 16 = 4096 elements per workgroup (kernels::reduce::CHUNK)

var<workgroup> red_s: array<f32, 256>;
var<workgroup> red_n: array<u32, 256>;

fn non_finite(bits: u32) -> bool {
    return (bits & 0x7f800000u) == 0x7f800000u;
}

// Tree over the workgroup; the result is in red_s[0], red_n[0] for every thread after the call.
fn tree(tid: u32, s: f32, bad: u32) {
    red_s[tid] = s;
    red_n[tid] = bad;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k >>= 1u) {
        if (tid < k) {
            red_s[tid] += red_s[tid + k];
            red_n[tid] += red_n[tid + k];
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(256, 1, 1)
fn sumsq_partials(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let w = flat_wg(wg, nwg);
    let base = w * 256u * CHUNK_ITERS;
    if (base >= P.n) { return; }
    var s = 0.0;
    var bad = 0u;
    for (var k = 0u; k < CHUNK_ITERS; k++) {
        let i = base + k * 256u + lid.x;
        if (i < P.n) {
            let bits = X[i];
            if (non_finite(bits)) {
                bad += 1u;
            } else {
                let v = bitcast<f32>(bits);
                s = fma(v, v, s);
            }
        }
    }
    tree(lid.x, s, bad);
    if (lid.x == 0u) {
        let o = 2u * (P.out_off + w);
        PART[o] = bitcast<u32>(red_s[0]);
        PART[o + 1u] = red_n[0];
    }
}

// Range r = RANGES pair (P.range_off + r) = [a, b) of PART pairs: Kahan-compensated serial sums
// strided by the workgroup size, then the tree.
@compute @workgroup_size(256, 1, 1)
fn sumsq_ranges(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = flat_wg(wg, nwg);
    if (r >= P.n) { return; }
    let a = RANGES[2u * (P.range_off + r)];
    let b = RANGES[2u * (P.range_off + r) + 1u];
    var s = 0.0;
    var c = 0.0;
    var bad = 0u;
    for (var j = a + lid.x; j < b; j += 256u) {
        let y = bitcast<f32>(PART[2u * j]) - c;
        let t = s + y;
        c = (t - s) - y;
        s = t;
        bad += PART[2u * j + 1u];
    }
    tree(lid.x, s, bad);
    if (lid.x == 0u) {
        let o = 2u * (P.out_off + r);
        OUT[o] = bitcast<u32>(red_s[0]);
        OUT[o + 1u] = red_n[0];
    }
}

@compute @workgroup_size(256, 1, 1)
fn sumsq_total(@builtin(local_invocation_id) lid: vec3<u32>) {
    var s = 0.0;
    var c = 0.0;
    var bad = 0u;
    for (var j = lid.x; j < P.n; j += 256u) {
        let k = 2u * (P.out_off + j);
        let y = bitcast<f32>(OUT[k]) - c;
        let t = s + y;
        c = (t - s) - y;
        s = t;
        bad += OUT[k + 1u];
    }
    tree(lid.x, s, bad);
    if (lid.x == 0u) {
        OUT[0] = bitcast<u32>(red_s[0]);
        OUT[1] = red_n[0];
    }
}
