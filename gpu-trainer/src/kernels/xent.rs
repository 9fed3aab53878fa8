//! Token log-probabilities and cross-entropy over the vocabulary (shaders/xent.wgsl), one row
//! per target token, for a CHUNK of rows at a time (with a 256000-word vocabulary the logits
//! dominate memory: callers loop over chunks of target rows, reusing one [chunk, V] buffer).

use super::shape_err;
use crate::runtime::{Batch, GpuError};
use crate::tensor::Tensor;

const NAME: &str = "xent";

/// Per row r of `logits` f32 [R, V] (already soft-capped when the model caps):
/// lse[r] = logsumexp(logits[r]), logprob[r] = logits[r, targets[r]] - lse[r].
/// `targets` u32 [R]; `lse`, `logprob` f32 [R].
pub fn forward(b: &mut Batch<'_>, logits: &Tensor, targets: &Tensor, lse: &Tensor, logprob: &Tensor) -> Result<(), GpuError> {
    let _ = (b, logits, targets, lse, logprob);
    Err(shape_err(NAME, "not implemented yet (issue 4 in progress)".into()))
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
    let _ = (b, logits, targets, lse, coef, softcap);
    Err(shape_err(NAME, "not implemented yet (issue 4 in progress)".into()))
}
