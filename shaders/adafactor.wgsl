// AdaFactor (Shazeer & Stern 2018) as transformers' `Adafactor` with scale_parameter=False,
// relative_step=False, warmup_init=False and an explicit lr, step t >= 1, one tensor at a time:
//   g    = clip * G                                   (global-norm clipping folded in)
//   q    = g^2 + eps1                                 (eps1 = 1e-30)
//   beta2t = 1 - t^decay_rate                         (decay_rate = -0.8; host, f64)
// factored (rank >= 2, shape [..., R, C]: B = prod(leading dims) matrices of R x C):
//   ROW[b, r] = ROW * beta2t + (1 - beta2t) * mean_c q        af_row
//   COL[b, c] = COL * beta2t + (1 - beta2t) * mean_r q        af_col_partial + af_col_finish
//   u = rsqrt(ROW[b, r] / mean_r ROW[b, :]) * rsqrt(COL[b, c]) * g    af_row_mean, af_factored_sumsq
// otherwise (vector):
//   V = V * beta2t + (1 - beta2t) * q ;  u = rsqrt(V) * g             af_vector_sumsq
// then, with rms = ||u|| / sqrt(numel) from the deterministic reduction (reduce.wgsl):
//   u = lr * u / max(1, rms / clip_threshold)
//   with beta1: M = M * beta1 + (1 - beta1) * u ; u = M
//   W = W - lr * weight_decay * W ; W = W - u                          af_apply_*
// A tensor split into row parts is handled part by part: the row statistics are per row (local
// to a part), the column sums go through per-block partials (CP) summed over every block of a
// matrix, whichever part it lies in. All reductions are fixed-shape trees: deterministic.

struct AfParams {
    n: u32,              // what the entry point iterates over (see each entry)
    cols: u32,           // C, the last dim
    rows: u32,           // R, the second-to-last dim (rows of one matrix)
    row_off: u32,        // flat row (index into ROW) of this part's first element
    seg_len: u32,        // af_col_partial: flat rows of one segment (one matrix, or this part of it)
    blocks_per_seg: u32, // af_col_partial
    block_rows: u32,     // af_col_partial: rows summed per block
    block_off: u32,      // af_col_partial: first CP block of this part; af_col_finish: blocks per
                         // matrix; *_sumsq: first partial pair of this part
    clip: f32,
    eps1: f32,
    b2t: f32,
    one_minus_b2t: f32,
    lr: f32,
    beta1: f32,
    wd_lr: f32,          // weight_decay * lr (0 = no decay)
    thr: f32,            // clip_threshold of the update RMS
    sqrt_numel: f32,     // sqrt(numel of the whole tensor), host f64
    tensor: u32,         // pair of SUMS holding this tensor's sum of squared updates
    use_m: u32,          // 1 when beta1 is set (M is the first moment)
    one_minus_b1: f32,   // 1 - beta1, host f64 (torch's alpha)
}

@group(0) @binding(0) var<uniform> P: AfParams;
@group(0) @binding(1) var<storage, read_write> W: array<f32>;   // the weights (this part)
@group(0) @binding(2) var<storage, read> G: array<f32>;         // the gradient (this part)
@group(0) @binding(3) var<storage, read_write> ROW: array<f32>; // row state [B * R] (factored) or V (this part)
@group(0) @binding(4) var<storage, read_write> COL: array<f32>; // column state [B * C]
@group(0) @binding(5) var<storage, read_write> CP: array<f32>;  // column partials [blocks, C]
@group(0) @binding(6) var<storage, read_write> PART: array<u32>; // partial pairs (f32 bits, 0)
@group(0) @binding(7) var<storage, read_write> RM: array<f32>;  // mean of ROW per matrix [B]
@group(0) @binding(8) var<storage, read> SUMS: array<u32>;      // per-tensor pairs (sum of u^2 bits, _)
@group(0) @binding(9) var<storage, read_write> M: array<f32>;   // first moment (this part) or a dummy

const CHUNK_ITERS: u32 = 16u; // 4096 elements per workgroup, as reduce.wgsl

var<workgroup> red: array<f32, 256>;

// Tree sum over the workgroup of each thread's `s`; every thread gets the total.
fn tree_sum(tid: u32, s: f32) -> f32 {
    red[tid] = s;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k >>= 1u) {
        if (tid < k) { red[tid] += red[tid + k]; }
        workgroupBarrier();
    }
    return red[0];
}

fn grad_sq(i: u32) -> f32 {
    let g = G[i] * P.clip;
    return g * g + P.eps1;
}

// The unscaled update of element i of a factored part (ROW, COL, RM already of this step).
fn factored_u(i: u32) -> f32 {
    let fr = P.row_off + i / P.cols;
    let c = i % P.cols;
    let b = fr / P.rows;
    let r_factor = inverseSqrt(ROW[fr] / RM[b]);
    let c_factor = inverseSqrt(COL[b * P.cols + c]);
    return r_factor * c_factor * (G[i] * P.clip);
}

// One workgroup per flat row of the part (n = flat rows).
@compute @workgroup_size(256, 1, 1)
fn af_row(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = flat_wg(wg, nwg);
    if (r >= P.n) { return; }
    var s = 0.0;
    for (var c = lid.x; c < P.cols; c += 256u) {
        s += grad_sq(r * P.cols + c);
    }
    let total = tree_sum(lid.x, s);
    if (lid.x == 0u) {
        let fr = P.row_off + r;
        ROW[fr] = ROW[fr] * P.b2t + P.one_minus_b2t * (total / f32(P.cols));
    }
}

// One workgroup per (block of rows of the part, 256 columns) (n = blocks of the part): each
// thread sums its column over the block's rows (coalesced across threads) into CP.
@compute @workgroup_size(256, 1, 1)
fn af_col_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let tiles = (P.cols + 255u) / 256u;
    let w = flat_wg(wg, nwg);
    let k = w / tiles;
    let c = (w % tiles) * 256u + lid.x;
    if (k >= P.n || c >= P.cols) { return; }
    let seg = k / P.blocks_per_seg;
    let r0 = seg * P.seg_len + (k % P.blocks_per_seg) * P.block_rows;
    let r1 = min(r0 + P.block_rows, (seg + 1u) * P.seg_len);
    var s = 0.0;
    for (var r = r0; r < r1; r++) {
        s += grad_sq(r * P.cols + c);
    }
    CP[(P.block_off + k) * P.cols + c] = s;
}

// One thread per (matrix b, column c) (n = B * C): the blocks of matrix b are
// [b * block_off, (b + 1) * block_off) (block_off = blocks per matrix).
@compute @workgroup_size(256, 1, 1)
fn af_col_finish(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_wg(wg, nwg) * 256u + lid.x;
    if (i >= P.n) { return; }
    let b = i / P.cols;
    let c = i % P.cols;
    var s = 0.0;
    for (var k = b * P.block_off; k < (b + 1u) * P.block_off; k++) {
        s += CP[k * P.cols + c];
    }
    COL[i] = COL[i] * P.b2t + P.one_minus_b2t * (s / f32(P.rows));
}

// One workgroup per matrix (n = B): RM[b] = mean of ROW[b * R .. (b + 1) * R].
@compute @workgroup_size(256, 1, 1)
fn af_row_mean(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let b = flat_wg(wg, nwg);
    if (b >= P.n) { return; }
    var s = 0.0;
    for (var r = lid.x; r < P.rows; r += 256u) {
        s += ROW[b * P.rows + r];
    }
    let total = tree_sum(lid.x, s);
    if (lid.x == 0u) {
        RM[b] = total / f32(P.rows);
    }
}

// One workgroup per 4096 elements of the part (n = elements): partial sums of u^2.
@compute @workgroup_size(256, 1, 1)
fn af_factored_sumsq(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let w = flat_wg(wg, nwg);
    let base = w * 256u * CHUNK_ITERS;
    if (base >= P.n) { return; }
    var s = 0.0;
    for (var k = 0u; k < CHUNK_ITERS; k++) {
        let i = base + k * 256u + lid.x;
        if (i < P.n) {
            let u = factored_u(i);
            s = fma(u, u, s);
        }
    }
    let total = tree_sum(lid.x, s);
    if (lid.x == 0u) {
        PART[2u * (P.block_off + w)] = bitcast<u32>(total);
        PART[2u * (P.block_off + w) + 1u] = 0u;
    }
}

// Vector (unfactored) second moment, in place in ROW (= V of this part), and partial sums of u^2.
@compute @workgroup_size(256, 1, 1)
fn af_vector_sumsq(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let w = flat_wg(wg, nwg);
    let base = w * 256u * CHUNK_ITERS;
    if (base >= P.n) { return; }
    var s = 0.0;
    for (var k = 0u; k < CHUNK_ITERS; k++) {
        let i = base + k * 256u + lid.x;
        if (i < P.n) {
            let v = ROW[i] * P.b2t + P.one_minus_b2t * grad_sq(i);
            ROW[i] = v;
            let u = inverseSqrt(v) * (G[i] * P.clip);
            s = fma(u, u, s);
        }
    }
    let total = tree_sum(lid.x, s);
    if (lid.x == 0u) {
        PART[2u * (P.block_off + w)] = bitcast<u32>(total);
        PART[2u * (P.block_off + w) + 1u] = 0u;
    }
}

fn apply(i: u32, u_raw: f32) {
    let rms = sqrt(bitcast<f32>(SUMS[2u * P.tensor])) / P.sqrt_numel;
    var u = u_raw / max(rms / P.thr, 1.0);
    u = u * P.lr;
    if (P.use_m == 1u) {
        let m = M[i] * P.beta1 + P.one_minus_b1 * u;
        M[i] = m;
        u = m;
    }
    var w = W[i];
    if (P.wd_lr != 0.0) {
        w = w + (-P.wd_lr) * w;
    }
    W[i] = w + (-u);
}

// Elementwise over the part (n = elements).
@compute @workgroup_size(256, 1, 1)
fn af_apply_factored(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_wg(wg, nwg) * 256u + lid.x;
    if (i >= P.n) { return; }
    apply(i, factored_u(i));
}

@compute @workgroup_size(256, 1, 1)
fn af_apply_vector(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_wg(wg, nwg) * 256u + lid.x;
    if (i >= P.n) { return; }
    apply(i, inverseSqrt(ROW[i]) * (G[i] * P.clip));
}
