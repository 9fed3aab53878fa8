//! Elementwise f32 ops (shaders/elementwise.wgsl): geglu, residual add,
//! softcap (in place), and the backward of geglu and softcap.

use super::{Params, expect_numel, grid256, shape_err};
use crate::runtime::{Batch, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "elementwise";

fn binary(
    b: &mut Batch<'_>,
    entry: &'static str,
    a: &Tensor,
    c: &Tensor,
    out: &Tensor,
) -> Result<(), GpuError> {
    for t in [a, c, out] {
        t.expect_dtype(DType::F32)?;
    }
    let n = a.numel();
    expect_numel(NAME, c, n)?;
    expect_numel(NAME, out, n)?;
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, entry, DType::F32)?;
    let p = Params::default().u(0, n);
    let groups = grid256(b, n);
    b.dispatch(
        kernel,
        p.bytes(),
        &[(1, a.buffer(NAME)?), (2, c.buffer(NAME)?), (3, out.buffer(NAME)?)],
        groups,
    );
    Ok(())
}

/// out = gelu_tanh(gate) * up.
pub fn geglu_forward(b: &mut Batch<'_>, gate: &Tensor, up: &Tensor, out: &Tensor) -> Result<(), GpuError> {
    binary(b, "geglu_fwd", gate, up, out)
}

/// out = a + c (out must be a distinct tensor; for an in-place residual add
/// of a normed value use `rmsnorm::residual_forward`).
pub fn add_forward(b: &mut Batch<'_>, a: &Tensor, c: &Tensor, out: &Tensor) -> Result<(), GpuError> {
    binary(b, "add_fwd", a, c, out)
}

/// x = cap * tanh(x / cap), in place.
pub fn softcap_forward(b: &mut Batch<'_>, x: &Tensor, cap: f32) -> Result<(), GpuError> {
    x.expect_dtype(DType::F32)?;
    let n = x.numel();
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "softcap_fwd", DType::F32)?;
    let p = Params::default().u(0, n).f(1, cap);
    let groups = grid256(b, n);
    b.dispatch(kernel, p.bytes(), &[(3, x.buffer(NAME)?)], groups);
    Ok(())
}

/// Backward of `out = gelu_tanh(gate) * up`: dgate = dout * up * gelu'(gate), dup = dout * gelu(gate)
/// (both overwritten). All f32 with the same element count; `dgate` and `dup` are distinct tensors,
/// distinct from the inputs.
pub fn geglu_backward(
    b: &mut Batch<'_>,
    gate: &Tensor,
    up: &Tensor,
    dout: &Tensor,
    dgate: &Tensor,
    dup: &Tensor,
) -> Result<(), GpuError> {
    let n = gate.numel();
    for t in [gate, up, dout, dgate, dup] {
        t.expect_dtype(DType::F32)?;
        expect_numel(NAME, t, n)?;
    }
    let (gb, ub, ob, dgb, dub) =
        (gate.buffer(NAME)?, up.buffer(NAME)?, dout.buffer(NAME)?, dgate.buffer(NAME)?, dup.buffer(NAME)?);
    if dgb == dub || [gb, ub, ob].iter().any(|&i| i == dgb || i == dub) {
        return Err(shape_err(
            NAME,
            format!("geglu backward: {:?} and {:?} must be distinct outputs", dgate.name, dup.name),
        ));
    }
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "geglu_bwd", DType::F32)?;
    let p = Params::default().u(0, n);
    let groups = grid256(b, n);
    b.dispatch(kernel, p.bytes(), &[(1, gb), (2, ub), (4, ob), (3, dgb), (5, dub)], groups);
    Ok(())
}

/// Backward of `y = cap * tanh(x / cap)` from the capped output `y`: dy *= 1 - (y / cap)^2, in place.
/// `y`, `dy` f32 with the same element count, distinct tensors; `cap` finite and > 0.
pub fn softcap_backward(b: &mut Batch<'_>, y: &Tensor, dy: &Tensor, cap: f32) -> Result<(), GpuError> {
    y.expect_dtype(DType::F32)?;
    dy.expect_dtype(DType::F32)?;
    let n = y.numel();
    expect_numel(NAME, dy, n)?;
    if !(cap.is_finite() && cap > 0.0) {
        return Err(shape_err(NAME, format!("softcap backward: cap {cap} must be finite and > 0")));
    }
    let (yb, db) = (y.buffer(NAME)?, dy.buffer(NAME)?);
    if yb == db {
        return Err(shape_err(
            NAME,
            format!("softcap backward: y {:?} and dy {:?} must be distinct", y.name, dy.name),
        ));
    }
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "softcap_bwd", DType::F32)?;
    let p = Params::default().u(0, n).f(1, cap);
    let groups = grid256(b, n);
    b.dispatch(kernel, p.bytes(), &[(1, yb), (3, db)], groups);
    Ok(())
}
