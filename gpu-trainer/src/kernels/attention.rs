//! Training attention over packed sequences, forward and backward (shaders/attention.wgsl).
//! Rows are tokens, sequences are contiguous and `pos` restarts at 0 for each one, so a batch of
//! prompts of different lengths needs no padding. Causal inside each sequence, optional sliding
//! window (key kept iff pos_k > pos_q - W), scale = query_pre_attn_scalar^-0.5, optional softcap,
//! GQA, f32 softmax. Tiles of 16 x 16: the forward and dq are query-major (one workgroup per 16
//! query rows and head), dk/dv key-major (one workgroup per 16 key rows and kv head, summing its
//! GQA group), so the backward is deterministic (no atomics). CPU reference:
//! [`crate::cpu::grad_attention`]. Inference attends through the KV cache instead
//! (`kernels::kv_cache`).
//!
//! `pos` must follow the packing rule: each entry is 0 (a sequence starts) or the previous one + 1.
//! The host cannot check a GPU tensor without a readback, so the forward writes NaN into `out` and
//! `lse` of every row that breaks it: a malformed batch gives a NaN loss, never silently wrong
//! gradients, and every read stays in bounds.

use super::{Params, expect_numel, shape_err};
use crate::cpu::ops::AttnParams;
use crate::runtime::{Batch, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "attention";

/// Largest head_dim the packed kernels support (Gemma2 and Gemma3 use at most 256).
pub const MAX_HEAD_DIM: usize = 256;

/// Query/key rows per workgroup tile (shaders/attention.wgsl `T`).
const TILE: usize = 16;

/// Checks shared by forward and backward; returns (n, uniform parameters).
fn check(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    pos: &Tensor,
    p: &AttnParams,
) -> Result<(usize, Params), GpuError> {
    for t in [q, k, v] {
        t.expect_dtype(DType::F32)?;
    }
    pos.expect_dtype(DType::U32)?;
    let (h, kvh, hd) = (p.heads, p.kv_heads, p.head_dim);
    if h == 0 || kvh == 0 || h % kvh != 0 || hd == 0 || hd > MAX_HEAD_DIM {
        return Err(shape_err(
            NAME,
            format!(
                "heads {h}, kv_heads {kvh}, head_dim {hd}: need heads a multiple of kv_heads > 0 and 0 < head_dim <= {MAX_HEAD_DIM}"
            ),
        ));
    }
    if !p.scale.is_finite() {
        return Err(shape_err(NAME, format!("scale {} is not finite", p.scale)));
    }
    let softcap = match p.softcap {
        Some(c) if !(c.is_finite() && c > 0.0) => {
            return Err(shape_err(NAME, format!("softcap {c} must be finite and > 0 (None turns it off)")));
        }
        Some(c) => c,
        None => 0.0,
    };
    let n = pos.numel();
    if n.checked_mul(h * hd).is_none_or(|e| e > u32::MAX as usize) {
        return Err(shape_err(NAME, format!("{n} rows x {h} heads x {hd} exceed u32 indexing")));
    }
    // A window at least n long masks nothing: clamp it so the shader's j + W never overflows.
    let window = match p.window {
        Some(0) => return Err(shape_err(NAME, "window 0 would mask every key".into())),
        Some(w) => w.min(n),
        None => 0,
    };
    expect_numel(NAME, q, n * h * hd)?;
    expect_numel(NAME, k, n * kvh * hd)?;
    expect_numel(NAME, v, n * kvh * hd)?;
    let prm = Params::default().u(0, n).u(1, h).u(2, kvh).u(3, hd).u(4, window).f(5, p.scale).f(6, softcap);
    Ok((n, prm))
}

fn expect_f32(t: &Tensor, n: usize) -> Result<(), GpuError> {
    t.expect_dtype(DType::F32)?;
    expect_numel(NAME, t, n)
}

/// Training attention over PACKED sequences (one row per token, sequences contiguous, positions
/// restart at 0 for each sequence): query row i sees key rows j in [i - pos[i], i] (its own
/// sequence, causal) and, with a window W, only those with pos[j] > pos[i] - W. Writes `out`
/// f32 [n, heads*hd] and `lse` f32 [n, heads] (log-sum-exp of the capped, scaled scores; the
/// backward recomputes the probabilities from it). q [n, heads*hd], k/v [n, kv_heads*hd], pos u32 [n].
/// A row whose `pos` breaks the packing rule gets NaN (module docs).
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
    let (n, prm) = check(q, k, v, pos, p)?;
    expect_f32(out, n * p.heads * p.head_dim)?;
    expect_f32(lse, n * p.heads)?;
    if n == 0 {
        return Ok(());
    }
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "attention_packed_fwd", DType::F32)?;
    let groups = b.grid((n.div_ceil(TILE) * p.heads) as u64);
    b.dispatch(
        kernel,
        prm.bytes(),
        &[
            (1, q.buffer(NAME)?),
            (2, k.buffer(NAME)?),
            (3, v.buffer(NAME)?),
            (4, pos.buffer(NAME)?),
            (5, out.buffer(NAME)?),
            (6, lse.buffer(NAME)?),
        ],
        groups,
    );
    Ok(())
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
    let (n, prm) = check(q, k, v, pos, p)?;
    let (qn, kvn) = (n * p.heads * p.head_dim, n * p.kv_heads * p.head_dim);
    for (t, len) in
        [(out, qn), (dout, qn), (dq, qn), (lse, n * p.heads), (delta, n * p.heads), (dk, kvn), (dv, kvn)]
    {
        expect_f32(t, len)?;
    }
    if n == 0 {
        return Ok(());
    }
    let gpu = b.gpu();
    let delta_k = gpu.registry.kernel(gpu, NAME, "attention_packed_delta", DType::F32)?;
    let dq_k = gpu.registry.kernel(gpu, NAME, "attention_packed_dq", DType::F32)?;
    let dkdv_k = gpu.registry.kernel(gpu, NAME, "attention_packed_dkdv", DType::F32)?;
    // Every binding first, so that an error records nothing.
    let (qb, kb, vb, pb, lb) =
        (q.buffer(NAME)?, k.buffer(NAME)?, v.buffer(NAME)?, pos.buffer(NAME)?, lse.buffer(NAME)?);
    let (ob, dob, deltab) = (out.buffer(NAME)?, dout.buffer(NAME)?, delta.buffer(NAME)?);
    let (dqb, dkb, dvb) = (dq.buffer(NAME)?, dk.buffer(NAME)?, dv.buffer(NAME)?);
    let groups = b.grid((n * p.heads).div_ceil(TILE) as u64);
    b.dispatch(delta_k, prm.bytes(), &[(5, ob), (7, dob), (8, deltab)], groups);
    let groups = b.grid((n.div_ceil(TILE) * p.heads) as u64);
    let dq_bufs = [(1, qb), (2, kb), (3, vb), (4, pb), (6, lb), (7, dob), (8, deltab), (9, dqb)];
    b.dispatch(dq_k, prm.bytes(), &dq_bufs, groups);
    let groups = b.grid((n.div_ceil(TILE) * p.kv_heads) as u64);
    let dkdv_bufs =
        [(1, qb), (2, kb), (3, vb), (4, pb), (6, lb), (7, dob), (8, deltab), (10, dkb), (11, dvb)];
    b.dispatch(dkdv_k, prm.bytes(), &dkdv_bufs, groups);
    Ok(())
}
