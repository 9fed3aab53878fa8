//! RMSNorm with (1 + w), in f32 (shaders/rmsnorm.wgsl). dim = w.numel();
//! x holds any number of rows of that length, so the same kernel normalises
//! per token (dim = hidden) or per head (dim = head_dim, Gemma3 q/k norms).

use super::{Params, expect_numel, grid256, shape_err};
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

fn record(
    b: &mut Batch<'_>,
    entry: &'static str,
    x: &Tensor,
    w: &Tensor,
    y: &Tensor,
    eps: f32,
) -> Result<(), GpuError> {
    let (rows, dim) = check(x, w, y)?;
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, entry, w.dtype)?;
    let p = Params::default().u(0, rows).u(1, dim).f(2, eps);
    let groups = b.grid(rows as u64);
    b.dispatch(
        kernel,
        p.bytes(),
        &[(1, x.buffer(NAME)?), (2, w.buffer(NAME)?), (3, y.buffer(NAME)?)],
        groups,
    );
    Ok(())
}

/// y = x * 1/sqrt(mean(x^2) + eps) * (1 + w), per row of length w.numel().
pub fn forward(b: &mut Batch<'_>, x: &Tensor, w: &Tensor, y: &Tensor, eps: f32) -> Result<(), GpuError> {
    record(b, "rmsnorm_fwd", x, w, y, eps)
}

/// residual += rms_norm(x, w): Gemma2's post-attention / post-ffw norm fused
/// with the residual add.
pub fn residual_forward(
    b: &mut Batch<'_>,
    x: &Tensor,
    w: &Tensor,
    residual: &Tensor,
    eps: f32,
) -> Result<(), GpuError> {
    record(b, "residual_rmsnorm_fwd", x, w, residual, eps)
}

/// Backward of `y = rms_norm(x, w)` (rows of length w.numel()): dx (+)= dL/dx (overwrite unless
/// `accumulate_dx`), and `dw` f32 [dim] += sum over rows of dL/dw (always accumulates). `w` may be
/// f32/f16/bf16. The residual form (`residual += rms_norm(x, w)`) has the same backward with
/// dy = the residual's gradient.
///
/// With r = 1/sqrt(mean(x^2) + eps) per row: dx = r (1+w) dy - x r^3/dim * sum(dy (1+w) x),
/// dw += sum over rows of dy x r. `x`, `dy`, `dx` f32 with x's element count; `dx` must be a
/// tensor distinct from `x`, `dy` and `dw`. Three dispatches (dx with one workgroup per row; dw
/// as per-block partials then an in-order reduction: deterministic, no atomics) sharing a small
/// scratch buffer allocated here (rows + at most 64 * dim f32).
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
    let (rows, dim) = check(x, w, dx)?;
    dy.expect_dtype(DType::F32)?;
    expect_numel(NAME, dy, x.numel())?;
    dw.expect_dtype(DType::F32)?;
    expect_numel(NAME, dw, dim)?;
    let (xb, wb, dyb, dxb, dwb) =
        (x.buffer(NAME)?, w.buffer(NAME)?, dy.buffer(NAME)?, dx.buffer(NAME)?, dw.buffer(NAME)?);
    for (other, o) in [(x, xb), (dy, dyb), (dw, dwb)] {
        if o == dxb {
            return Err(shape_err(
                NAME,
                format!("dx {:?} must be a tensor distinct from {:?}", dx.name, other.name),
            ));
        }
    }
    if dwb == xb || dwb == dyb {
        return Err(shape_err(NAME, format!("dw {:?} must be a tensor distinct from x and dy", dw.name)));
    }
    // Row blocks of the dw pass: at most 64 (so the reduction reads at most 64 partials per
    // column), at least 4 rows each (one per row lane), a multiple of 4 rows.
    let rb_rows = rows.div_ceil(64).max(4).next_multiple_of(4);
    let nrb = rows.div_ceil(rb_rows);
    let scratch = Tensor::zeros(b.gpu(), "rmsnorm backward scratch", &[rows + nrb * dim], DType::F32)?;
    let sb = scratch.buffer(NAME)?;
    let gpu = b.gpu();
    let p =
        Params::default().u(0, rows).u(1, dim).f(2, eps).u(3, accumulate_dx as usize).u(4, rb_rows).u(5, nrb);

    let k = gpu.registry.kernel(gpu, NAME, "rmsnorm_bwd_dx", w.dtype)?;
    let groups = b.grid(rows as u64);
    b.dispatch(k, p.bytes(), &[(1, xb), (2, wb), (4, dyb), (5, dxb), (6, sb)], groups);

    let k = gpu.registry.kernel(gpu, NAME, "rmsnorm_bwd_dw_partial", DType::F32)?;
    let groups = b.grid((dim.div_ceil(64) * nrb) as u64);
    b.dispatch(k, p.bytes(), &[(1, xb), (4, dyb), (6, sb)], groups);

    let k = gpu.registry.kernel(gpu, NAME, "rmsnorm_bwd_dw_reduce", DType::F32)?;
    let groups = grid256(b, dim);
    b.dispatch(k, p.bytes(), &[(6, sb), (7, dwb)], groups);
    Ok(())
}
