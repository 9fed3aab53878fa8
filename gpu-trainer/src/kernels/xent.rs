//! Token log-probabilities and cross-entropy over the vocabulary (shaders/xent.wgsl), one row
//! per target token, for a CHUNK of rows at a time (with a 256000-word vocabulary the logits
//! dominate memory: callers loop over chunks of target rows, reusing one [chunk, V] buffer).
//!
//! Targets must be < V: the kernels cannot report a bad id, so callers check ids on the host
//! (a target >= V gives logprob = -3e38 and no one-hot term in the gradient). `logits` may be
//! split into row parts (one dispatch per part); the [R] tensors must each fit one binding.

use super::{Params, expect_numel, shape_err};
use crate::runtime::{Batch, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "xent";
/// Columns per workgroup of `xent_bwd` (256 threads x 4).
const BWD_COLS: usize = 1024;

/// (R, V) of `logits` f32 [R, V] after checking the per-row tensors hold R elements.
fn check(logits: &Tensor, targets: &Tensor, per_row: &[&Tensor]) -> Result<(usize, usize), GpuError> {
    logits.expect_dtype(DType::F32)?;
    if logits.shape.len() != 2 || logits.numel() == 0 {
        return Err(shape_err(
            NAME,
            format!("logits {:?} {:?}: [rows, vocab] expected", logits.name, logits.shape),
        ));
    }
    let (rows, v) = (logits.shape[0], logits.shape[1]);
    targets.expect_dtype(DType::U32)?;
    expect_numel(NAME, targets, rows)?;
    for t in per_row {
        t.expect_dtype(DType::F32)?;
        expect_numel(NAME, t, rows)?;
    }
    Ok((rows, v))
}

/// Per row r of `logits` f32 [R, V] (already soft-capped when the model caps):
/// lse[r] = logsumexp(logits[r]), logprob[r] = logits[r, targets[r]] - lse[r].
/// `targets` u32 [R]; `lse`, `logprob` f32 [R] (distinct tensors). One workgroup per row.
pub fn forward(
    b: &mut Batch<'_>,
    logits: &Tensor,
    targets: &Tensor,
    lse: &Tensor,
    logprob: &Tensor,
) -> Result<(), GpuError> {
    let (_, v) = check(logits, targets, &[lse, logprob])?;
    let (tb, lb, pb) = (targets.buffer(NAME)?, lse.buffer(NAME)?, logprob.buffer(NAME)?);
    if lb == pb {
        return Err(shape_err(
            NAME,
            format!("lse {:?} and logprob {:?} must be distinct", lse.name, logprob.name),
        ));
    }
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "xent_fwd", DType::F32)?;
    for part in logits.parts() {
        let p = Params::default().u(0, part.rows).u(1, v).u(2, part.row_start);
        let groups = b.grid(part.rows as u64);
        b.dispatch(kernel.clone(), p.bytes(), &[(1, &part.buffer), (2, tb), (3, lb), (4, pb)], groups);
    }
    Ok(())
}

/// In place: logits[r] becomes dL/d(pre-cap logits)[r] for L = sum_r coef[r] * (-logprob[r]):
/// coef[r] * (softmax(logits[r]) - onehot(targets[r])), times 1 - (y/cap)^2 when `softcap` is
/// set (y = the capped logits held in the buffer). `lse` from [`forward`]; `coef` f32 [R].
pub fn backward(
    b: &mut Batch<'_>,
    logits: &Tensor,
    targets: &Tensor,
    lse: &Tensor,
    coef: &Tensor,
    softcap: Option<f32>,
) -> Result<(), GpuError> {
    let (_, v) = check(logits, targets, &[lse, coef])?;
    if let Some(cap) = softcap
        && !(cap.is_finite() && cap > 0.0)
    {
        return Err(shape_err(NAME, format!("softcap {cap} must be finite and > 0")));
    }
    let (tb, lb, cb) = (targets.buffer(NAME)?, lse.buffer(NAME)?, coef.buffer(NAME)?);
    let gpu = b.gpu();
    // lse is read only here, but bound read_write (shared declaration with the forward).
    let kernel = gpu.registry.kernel(gpu, NAME, "xent_bwd", DType::F32)?;
    let col_blocks = v.div_ceil(BWD_COLS);
    for part in logits.parts() {
        let p = Params::default()
            .u(0, part.rows)
            .u(1, v)
            .u(2, part.row_start)
            .u(3, col_blocks)
            .f(4, softcap.unwrap_or(1.0))
            .u(5, softcap.is_some() as usize);
        let groups = b.grid((part.rows * col_blocks) as u64);
        b.dispatch(kernel.clone(), p.bytes(), &[(1, &part.buffer), (2, tb), (3, lb), (5, cb)], groups);
    }
    Ok(())
}
