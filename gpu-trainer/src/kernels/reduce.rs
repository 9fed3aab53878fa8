//! Deterministic sums of squares (shaders/reduce.wgsl): the global gradient norm, per-tensor
//! norms, AdaFactor's update RMS. Three fixed-shape stages, so the same input always gives the
//! same bits:
//!
//! 1. [`sumsq_partials`]: every [`CHUNK`] elements of a tensor part -> one partial pair;
//! 2. [`sumsq_ranges`]: each range of partial pairs (one tensor) -> one pair;
//! 3. [`sumsq_total`]: pairs `1..=count` of a stats buffer -> pair 0.
//!
//! A pair is two u32 words: (sum of squares as f32 bits, number of non-finite elements). NaN /
//! Inf elements are counted and left out of the sum, so a finite sum with a non-zero count still
//! says which tensor broke. Scratch buffers are U32 tensors that must fit one binding.

use super::shape_err;
use crate::runtime::{Batch, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "reduce";

/// Elements summed by one workgroup of [`sumsq_partials`] (256 threads x 16).
pub const CHUNK: usize = 4096;

/// Partial pairs that [`sumsq_partials`] writes for one buffer of `n` elements.
pub fn partial_count(n: usize) -> usize {
    n.div_ceil(CHUNK)
}

/// Partial pairs that [`sumsq_partials`] writes for every part of `t`.
pub fn tensor_partial_count(t: &Tensor) -> usize {
    let row_len = t.row_len();
    t.parts().iter().map(|p| partial_count(p.rows * row_len)).sum()
}

/// Uniform block of reduce.wgsl (`ReduceParams`).
fn params(n: usize, out_off: usize, range_off: usize) -> Result<[u8; 16], GpuError> {
    let word = |what: &str, v: usize| {
        u32::try_from(v).map_err(|_| shape_err(NAME, format!("{what} = {v} does not fit in u32")))
    };
    let w = [word("n", n)?, word("out_off", out_off)?, word("range_off", range_off)?, 0];
    let mut out = [0u8; 16];
    out.copy_from_slice(bytemuck::cast_slice(&w));
    Ok(out)
}

/// Error unless `t` is a U32 tensor holding at least `pairs` pairs.
fn expect_pairs(t: &Tensor, pairs: usize) -> Result<(), GpuError> {
    t.expect_dtype(DType::U32)?;
    if t.numel() < 2 * pairs {
        return Err(shape_err(
            NAME,
            format!(
                "scratch {:?} holds {} words, {} pairs ({} words) needed",
                t.name,
                t.numel(),
                pairs,
                2 * pairs
            ),
        ));
    }
    Ok(())
}

/// Sum of squares of every [`CHUNK`] elements of `x` (f32, every part) into `partials` (U32,
/// pairs), from pair `offset` on; returns the number of pairs written ([`tensor_partial_count`]).
pub fn sumsq_partials(
    b: &mut Batch<'_>,
    x: &Tensor,
    partials: &Tensor,
    offset: usize,
) -> Result<usize, GpuError> {
    x.expect_dtype(DType::F32)?;
    let count = tensor_partial_count(x);
    expect_pairs(partials, offset + count)?;
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "sumsq_partials", DType::F32)?;
    let out = partials.buffer(NAME)?;
    let mut off = offset;
    for p in x.parts() {
        let n = p.rows * x.row_len();
        if n == 0 {
            continue;
        }
        let groups = b.grid(partial_count(n) as u64);
        b.dispatch(kernel.clone(), &params(n, off, 0)?, &[(1, &p.buffer), (2, out)], groups);
        off += partial_count(n);
    }
    Ok(count)
}

/// For each r in `0..count`: pair `out_offset + r` of `out` = the sum of the partial pairs
/// `[a, b)` of `partials`, where `(a, b)` is pair `range_offset + r` of `ranges` (U32).
pub fn sumsq_ranges(
    b: &mut Batch<'_>,
    partials: &Tensor,
    ranges: &Tensor,
    range_offset: usize,
    count: usize,
    out: &Tensor,
    out_offset: usize,
) -> Result<(), GpuError> {
    expect_pairs(ranges, range_offset + count)?;
    expect_pairs(out, out_offset + count)?;
    partials.expect_dtype(DType::U32)?;
    if count == 0 {
        return Ok(());
    }
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "sumsq_ranges", DType::F32)?;
    let groups = b.grid(count as u64);
    let bufs = [(2, partials.buffer(NAME)?), (3, ranges.buffer(NAME)?), (4, out.buffer(NAME)?)];
    b.dispatch(kernel, &params(count, out_offset, range_offset)?, &bufs, groups);
    Ok(())
}

/// Pair 0 of `stats` (U32) = the sum of its pairs `1..=count` (the global total of per-tensor
/// sums written there by [`sumsq_ranges`] with `out_offset` 1).
pub fn sumsq_total(b: &mut Batch<'_>, stats: &Tensor, count: usize) -> Result<(), GpuError> {
    expect_pairs(stats, 1 + count)?;
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "sumsq_total", DType::F32)?;
    b.dispatch(kernel, &params(count, 1, 0)?, &[(4, stats.buffer(NAME)?)], [1, 1, 1]);
    Ok(())
}
