//! Elementwise f32 ops (shaders/elementwise.wgsl): geglu, residual add,
//! softcap (in place).

use super::{Params, expect_numel, grid256, shape_err};
use crate::runtime::{Batch, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "elementwise";

fn binary(b: &mut Batch<'_>, entry: &'static str, a: &Tensor, c: &Tensor, out: &Tensor) -> Result<(), GpuError> {
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
    b.dispatch(kernel, p.bytes(), &[(1, a.buffer(NAME)?), (2, c.buffer(NAME)?), (3, out.buffer(NAME)?)], groups);
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
/// (both overwritten).
pub fn geglu_backward(b: &mut Batch<'_>, gate: &Tensor, up: &Tensor, dout: &Tensor, dgate: &Tensor, dup: &Tensor) -> Result<(), GpuError> {
    let _ = (b, gate, up, dout, dgate, dup);
    Err(shape_err(NAME, "not implemented yet (issue 4 in progress)".into()))
}

/// Backward of `y = cap * tanh(x / cap)` from the capped output `y`: dy *= 1 - (y / cap)^2, in place.
pub fn softcap_backward(b: &mut Batch<'_>, y: &Tensor, dy: &Tensor, cap: f32) -> Result<(), GpuError> {
    let _ = (b, y, dy, cap);
    Err(shape_err(NAME, "not implemented yet (issue 4 in progress)".into()))
}
