// RoPE, half-split layout, in place on X [tokens, heads, head_dim]:
// x'[i] = x[i] c - x[i+half] s ; x'[i+half] = x[i+half] c + x[i] s,
// with (c, s) of token t and pair i read from a host-built table
// CS [tokens, half, 2] (exactly the CPU reference's f32 angles).
// Backward `rope_bwd`: the transpose of that rotation, i.e. the rotation by
// -angle: a' = a c + b s ; b' = b c - a s.

struct RopeParams {
    tokens: u32,
    heads: u32,
    head_dim: u32,
    _p0: u32,
}

@group(0) @binding(0) var<uniform> P: RopeParams;
@group(0) @binding(1) var<storage, read> CS: array<f32>;
@group(0) @binding(2) var<storage, read_write> X: array<f32>;

// Rotate pair i of one (token, head) row by the table angle times `dir`
// (+1 forward, -1 backward: sin(-angle) = -sin(angle), cos unchanged).
fn rotate_pair(idx: u32, dir: f32) {
    let hh = P.head_dim / 2u;
    if (idx >= P.tokens * P.heads * hh) { return; }
    let i = idx % hh;
    let th = idx / hh; // token * heads + head
    let t = th / P.heads;
    let c = CS[(t * hh + i) * 2u];
    let s = dir * CS[(t * hh + i) * 2u + 1u];
    let base = th * P.head_dim;
    let a = X[base + i];
    let b = X[base + i + hh];
    X[base + i] = a * c - b * s;
    X[base + i + hh] = b * c + a * s;
}

@compute @workgroup_size(256, 1, 1)
fn rope_fwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    rotate_pair(flat_wg(wg, nwg) * 256u + lid.x, 1.0);
}

@compute @workgroup_size(256, 1, 1)
fn rope_bwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    rotate_pair(flat_wg(wg, nwg) * 256u + lid.x, -1.0);
}
