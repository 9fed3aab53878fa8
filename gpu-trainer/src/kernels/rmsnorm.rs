//! RMSNorm with (1 + w), in f32 (shaders/rmsnorm.wgsl). dim = w.numel();
//! x holds any number of rows of that length, so the same kernel normalises
//! per token (dim = hidden) or per head (dim = head_dim, Gemma3 q/k norms).

use super::{Params, expect_numel, shape_err};
use crate::runtime::{Batch, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "rmsnorm";

fn check(x: &Tensor, w: &Tensor, y: &Tensor) -> Result<(usize, usize), GpuError> {
    x.expect_dtype(DType::F32)?;
    y.expect_dtype(DType::F32)?;
    let dim = w.numel();
    if dim == 0 || !x.numel().is_multiple_of(dim) {
        return Err(shape_err(NAME, format!("x {:?} {:?} is not rows of w's length {dim}", x.name, x.shape)));
    }
    expect_numel(NAME, y, x.numel())?;
    Ok((x.numel() / dim, dim))
}

fn record(b: &mut Batch<'_>, entry: &'static str, x: &Tensor, w: &Tensor, y: &Tensor, eps: f32) -> Result<(), GpuError> {
    let (rows, dim) = check(x, w, y)?;
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, entry, w.dtype)?;
    let p = Params::default().u(0, rows).u(1, dim).f(2, eps);
    let groups = b.grid(rows as u64);
    b.dispatch(kernel, p.bytes(), &[(1, x.buffer(NAME)?), (2, w.buffer(NAME)?), (3, y.buffer(NAME)?)], groups);
    Ok(())
}

/// y = x * 1/sqrt(mean(x^2) + eps) * (1 + w), per row of length w.numel().
pub fn forward(b: &mut Batch<'_>, x: &Tensor, w: &Tensor, y: &Tensor, eps: f32) -> Result<(), GpuError> {
    record(b, "rmsnorm_fwd", x, w, y, eps)
}

/// residual += rms_norm(x, w): Gemma2's post-attention / post-ffw norm fused
/// with the residual add.
pub fn residual_forward(b: &mut Batch<'_>, x: &Tensor, w: &Tensor, residual: &Tensor, eps: f32) -> Result<(), GpuError> {
    record(b, "residual_rmsnorm_fwd", x, w, residual, eps)
}

/// Backward of `y = rms_norm(x, w)` (rows of length w.numel()): dx (+)= dL/dx (overwrite unless
/// `accumulate_dx`), and `dw` f32 [dim] += sum over rows of dL/dw (always accumulates). `w` may be
/// f32/f16/bf16. The residual form (`residual += rms_norm(x, w)`) has the same backward with
/// dy = the residual's gradient.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    b: &mut Batch<'_>,
    x: &Tensor,
    w: &Tensor,
    dy: &Tensor,
    dx: &Tensor,
    dw: &Tensor,
    eps: f32,
    accumulate_dx: bool,
) -> Result<(), GpuError> {
    let _ = (b, x, w, dy, dx, dw, eps, accumulate_dx);
    Err(shape_err(NAME, "not implemented yet (issue 4 in progress)".into()))
}
