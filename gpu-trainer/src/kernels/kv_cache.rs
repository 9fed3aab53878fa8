//! Batched KV cache kernels (shaders/kv_cache.wgsl) over a ragged batch of
//! tokens: token i has a sequence `s` and a position `p` (`tok` u32 [n, 2]),
//! and a cache [seqs * max_len, kv_heads, head_dim] holds the key (or value)
//! of (s, p) in row `s * max_len + p`. So prompts of different lengths are
//! prefilled together without padding, and a decode step is one token per
//! active sequence.
//!
//! - [`store`]: write this step's k or v rows into the cache;
//! - [`attention`]: each token attends to rows `[lo, p]` of its own sequence
//!   (causal; lo = p + 1 - W on sliding-window layers), same f32 math as
//!   `attention::packed_forward`; CPU reference [`crate::cpu::ops::kv_attention`];
//! - [`gather_rows`]: pick the rows whose logits are wanted (last token of
//!   each prompt at prefill).

use super::{Params, expect_numel, grid256, shape_err};
use crate::cpu::ops::AttnParams;
use crate::runtime::{Batch, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "kv_cache";

/// Largest head_dim the attention kernel supports.
pub const MAX_HEAD_DIM: usize = 512;

fn check_cache(cache: &Tensor, max_len: usize) -> Result<usize, GpuError> {
    cache.expect_dtype(DType::F32)?;
    if max_len == 0 || !cache.rows().is_multiple_of(max_len) {
        return Err(shape_err(
            NAME,
            format!("cache {:?} {:?} is not [seqs * {max_len}, ..]", cache.name, cache.shape),
        ));
    }
    Ok(cache.rows() / max_len)
}

/// cache[tok[i].s * max_len + tok[i].p, :] = new[i, :]; `new` f32 [n, kv_heads, hd].
/// The caller guarantees s < seqs and p < max_len (the shader does not check).
pub fn store(
    b: &mut Batch<'_>,
    new: &Tensor,
    tok: &Tensor,
    cache: &Tensor,
    max_len: usize,
) -> Result<(), GpuError> {
    new.expect_dtype(DType::F32)?;
    tok.expect_dtype(DType::U32)?;
    check_cache(cache, max_len)?;
    let n = tok.numel() / 2;
    let row = cache.row_len();
    expect_numel(NAME, new, n * row)?;
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "kv_store", DType::F32)?;
    let p = Params::default().u(0, n).u(1, max_len).u(3, 1).u(4, row);
    let groups = grid256(b, n * row);
    b.dispatch(
        kernel,
        p.bytes(),
        &[(1, new.buffer(NAME)?), (2, tok.buffer(NAME)?), (3, cache.buffer(NAME)?)],
        groups,
    );
    Ok(())
}

/// out [n, heads, hd] = attention of q [n, heads, hd] over each token's own
/// sequence in the caches k, v [seqs * max_len, kv_heads, hd].
#[allow(clippy::too_many_arguments)]
pub fn attention(
    b: &mut Batch<'_>,
    q: &Tensor,
    tok: &Tensor,
    k: &Tensor,
    v: &Tensor,
    max_len: usize,
    out: &Tensor,
    p: &AttnParams,
) -> Result<(), GpuError> {
    for t in [q, out] {
        t.expect_dtype(DType::F32)?;
    }
    tok.expect_dtype(DType::U32)?;
    check_cache(k, max_len)?;
    check_cache(v, max_len)?;
    let (h, kvh, hd) = (p.heads, p.kv_heads, p.head_dim);
    if kvh == 0 || h % kvh != 0 || hd == 0 || hd > MAX_HEAD_DIM {
        return Err(shape_err(
            NAME,
            format!("heads {h}, kv_heads {kvh}, head_dim {hd} (max {MAX_HEAD_DIM}) unsupported"),
        ));
    }
    if k.row_len() != kvh * hd || v.row_len() != kvh * hd {
        return Err(shape_err(
            NAME,
            format!("cache rows are {} long, kv_heads * head_dim = {}", k.row_len(), kvh * hd),
        ));
    }
    let n = tok.numel() / 2;
    expect_numel(NAME, q, n * h * hd)?;
    expect_numel(NAME, out, n * h * hd)?;
    let window = match p.window {
        Some(0) => return Err(shape_err(NAME, "window 0 would mask every key".into())),
        Some(w) => w,
        None => 0,
    };
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "kv_attention", DType::F32)?;
    let prm = Params::default()
        .u(0, n)
        .u(1, max_len)
        .u(2, h)
        .u(3, kvh)
        .u(4, hd)
        .u(5, window)
        .f(6, p.scale)
        .f(7, p.softcap.unwrap_or(0.0));
    let groups = b.grid((n * h) as u64);
    b.dispatch(
        kernel,
        prm.bytes(),
        &[
            (1, q.buffer(NAME)?),
            (2, tok.buffer(NAME)?),
            (4, k.buffer(NAME)?),
            (5, v.buffer(NAME)?),
            (6, out.buffer(NAME)?),
        ],
        groups,
    );
    Ok(())
}

/// dst[r, :] = src[idx[r], :]; src f32 [rows, d], idx u32 [r], dst f32 [r, d].
pub fn gather_rows(b: &mut Batch<'_>, src: &Tensor, idx: &Tensor, dst: &Tensor) -> Result<(), GpuError> {
    src.expect_dtype(DType::F32)?;
    dst.expect_dtype(DType::F32)?;
    idx.expect_dtype(DType::U32)?;
    let d = dst.row_len();
    if src.row_len() != d {
        return Err(shape_err(
            NAME,
            format!(
                "gather {:?} {:?} into {:?} {:?}: row lengths differ",
                src.name, src.shape, dst.name, dst.shape
            ),
        ));
    }
    let r = idx.numel();
    expect_numel(NAME, dst, r * d)?;
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "gather_rows", DType::F32)?;
    let p = Params::default().u(0, r).u(4, d);
    let groups = grid256(b, r * d);
    b.dispatch(
        kernel,
        p.bytes(),
        &[(1, src.buffer(NAME)?), (2, idx.buffer(NAME)?), (3, dst.buffer(NAME)?)],
        groups,
    );
    Ok(())
}
