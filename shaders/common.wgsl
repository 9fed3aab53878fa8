// Prelude prepended to every shaders/*.wgsl by the kernel registry.

// Weight dtype of the pipeline (pipeline-overridable constant):
// 0 = f32, 1 = f16 packed two per u32, 2 = bf16 packed two per u32
// (element 2i in the low half). Weights are always bound as array<u32>.
override WDTYPE: u32 = 0u;

// Word index holding element i of a weight array.
fn widx(i: u32) -> u32 {
    if (WDTYPE == 0u) { return i; }
    return i >> 1u;
}

// Element i decoded from its word (widx(i)) as f32.
fn wval(word: u32, i: u32) -> f32 {
    if (WDTYPE == 0u) { return bitcast<f32>(word); }
    let h = select(word & 0xffffu, word >> 16u, (i & 1u) == 1u);
    if (WDTYPE == 1u) { return unpack2x16float(h).x; }
    return bitcast<f32>(h << 16u);
}

// Flat workgroup index of a grid folded into 2D (Batch::grid).
fn flat_wg(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wg.y * nwg.x + wg.x;
}

// Stand-in for -inf (WGSL has no infinity literal).
const NEG_BIG: f32 = -3.0e38;

// tanh that never overflows to NaN for large |x| (tanh(15) is 1 in f32).
fn tanh_safe(x: f32) -> f32 {
    return tanh(clamp(x, -15.0, 15.0));
}
