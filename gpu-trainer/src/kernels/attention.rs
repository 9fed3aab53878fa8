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
