//! Attention forward (shaders/attention.wgsl): prefill (q_len = kv_len) or
//! decode against a KV cache (k/v longer than kv_len: only the first kv_len
//! rows are read). Causal + optional sliding window (key kept iff
//! k_pos > q_pos - W), scale = query_pre_attn_scalar^-0.5, optional softcap,
//! GQA, f32 online softmax. One workgroup per (query, head).

use super::{Params, expect_numel, shape_err};
use crate::cpu::ops::AttnParams;
use crate::runtime::{Batch, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "attention";

/// Largest head_dim the kernel supports.
pub const MAX_HEAD_DIM: usize = 512;

/// Record the copy of `new` ([t, kv_heads, hd] f32, e.g. this step's
/// post-RoPE keys) into rows `row..row + t` of `cache` ([max_len, kv_heads, hd]).
pub fn append_kv(b: &mut Batch<'_>, new: &Tensor, cache: &Tensor, row: usize) -> Result<(), GpuError> {
    new.expect_dtype(DType::F32)?;
    cache.expect_dtype(DType::F32)?;
    let row_len = cache.row_len();
    if !new.numel().is_multiple_of(row_len.max(1)) || row * row_len + new.numel() > cache.numel() {
        return Err(shape_err(NAME, format!("cannot append {:?} {:?} at row {row} of cache {:?} {:?}", new.name, new.shape, cache.name, cache.shape)));
    }
    let bytes = (new.numel() * 4) as u64;
    b.copy(new.buffer(NAME)?, 0, cache.buffer(NAME)?, (row * row_len * 4) as u64, bytes);
    Ok(())
}

/// out [q_len, heads, hd] = softmax(mask(cap(q k^T * scale))) v over the
/// first `kv_len` rows of k, v [.., kv_heads, hd]; q_pos u32 [q_len],
/// k_pos u32 [>= kv_len].
#[allow(clippy::too_many_arguments)]
pub fn forward(
    b: &mut Batch<'_>,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    q_pos: &Tensor,
    k_pos: &Tensor,
    kv_len: usize,
    out: &Tensor,
    p: &AttnParams,
) -> Result<(), GpuError> {
    for t in [q, k, v, out] {
        t.expect_dtype(DType::F32)?;
    }
    q_pos.expect_dtype(DType::U32)?;
    k_pos.expect_dtype(DType::U32)?;
    let (h, kvh, hd) = (p.heads, p.kv_heads, p.head_dim);
    if kvh == 0 || h % kvh != 0 || hd == 0 || hd > MAX_HEAD_DIM {
        return Err(shape_err(NAME, format!("heads {h}, kv_heads {kvh}, head_dim {hd} (max {MAX_HEAD_DIM}) unsupported")));
    }
    let q_len = q_pos.numel();
    expect_numel(NAME, q, q_len * h * hd)?;
    expect_numel(NAME, out, q_len * h * hd)?;
    if k.numel() < kv_len * kvh * hd || v.numel() < kv_len * kvh * hd || k_pos.numel() < kv_len {
        return Err(shape_err(NAME, format!("k/v/k_pos hold fewer than kv_len = {kv_len} rows")));
    }
    let window = match p.window {
        Some(0) => return Err(shape_err(NAME, "window 0 would mask every key".into())),
        Some(w) => w,
        None => 0,
    };
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "attention_fwd", DType::F32)?;
    let prm = Params::default()
        .u(0, q_len)
        .u(1, kv_len)
        .u(2, h)
        .u(3, kvh)
        .u(4, hd)
        .u(5, window)
        .f(6, p.scale)
        .f(7, p.softcap.unwrap_or(0.0));
    let groups = b.grid((q_len * h) as u64);
    b.dispatch(
        kernel,
        prm.bytes(),
        &[
            (1, q.buffer(NAME)?),
            (2, k.buffer(NAME)?),
            (3, v.buffer(NAME)?),
            (4, q_pos.buffer(NAME)?),
            (5, k_pos.buffer(NAME)?),
            (6, out.buffer(NAME)?),
        ],
        groups,
    );
    Ok(())
}

/// Training attention over PACKED sequences (one row per token, sequences contiguous, positions
/// restart at 0 for each sequence): query row i sees key rows j in [i - pos[i], i] (its own
/// sequence, causal) and, with a window W, only those with pos[j] > pos[i] - W. Writes `out`
/// f32 [n, heads*hd] and `lse` f32 [n, heads] (log-sum-exp of the capped, scaled scores; the
/// backward recomputes the probabilities from it). q [n, heads*hd], k/v [n, kv_heads*hd], pos u32 [n].
#[allow(clippy::too_many_arguments)]
pub fn packed_forward(
    b: &mut Batch<'_>,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    pos: &Tensor,
    out: &Tensor,
    lse: &Tensor,
    p: &AttnParams,
) -> Result<(), GpuError> {
    let _ = (b, q, k, v, pos, out, lse, p);
    Err(shape_err(NAME, "not implemented yet (issue 4 in progress)".into()))
}

/// Backward of [`packed_forward`]: from `dout` [n, heads*hd] (and the forward's `out`, `lse`)
/// writes dq [n, heads*hd], dk and dv [n, kv_heads*hd] (overwritten; GQA sums over the group).
/// `delta` f32 [n, heads] is scratch (rowsum(dout * out)).
#[allow(clippy::too_many_arguments)]
pub fn packed_backward(
    b: &mut Batch<'_>,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    pos: &Tensor,
    out: &Tensor,
    lse: &Tensor,
    dout: &Tensor,
    delta: &Tensor,
    dq: &Tensor,
    dk: &Tensor,
    dv: &Tensor,
    p: &AttnParams,
) -> Result<(), GpuError> {
    let _ = (b, q, k, v, pos, out, lse, dout, delta, dq, dk, dv, p);
    Err(shape_err(NAME, "not implemented yet (issue 4 in progress)".into()))
}
