//! Y = X W^T (shaders/matmul.wgsl). X f32 [M, K]; W [N, K] in f32/f16/bf16,
//! possibly split into row parts (the tied LM head over a 256000-row table):
//! one dispatch per part writes its column range of Y. M <= 4 uses the
//! `matvec` decode kernel, larger M the 64x64 register-tiled kernel.

use super::{Params, expect_numel, shape_err};
use crate::runtime::{Batch, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "matmul";

/// Largest M that takes the decode (`matvec`) path.
pub const MATVEC_MAX_M: usize = 4;

/// Y[m, n] = sum_k X[m, k] W[n, k]; `y` is f32 [M, N].
pub fn forward(b: &mut Batch<'_>, x: &Tensor, w: &Tensor, y: &Tensor) -> Result<(), GpuError> {
    x.expect_dtype(DType::F32)?;
    y.expect_dtype(DType::F32)?;
    if w.dtype == DType::U32 {
        return Err(shape_err(NAME, format!("weight {:?} is u32", w.name)));
    }
    let k = w.row_len();
    let n = w.rows();
    if k == 0 || x.numel() % k != 0 {
        return Err(shape_err(NAME, format!("X {:?} {:?} is not [M, {k}] for W {:?} {:?}", x.name, x.shape, w.name, w.shape)));
    }
    let m = x.numel() / k;
    expect_numel(NAME, y, m * n)?;
    let xb = x.buffer(NAME)?;
    let yb = y.buffer(NAME)?;
    let gpu = b.gpu();
    let entry = if m <= MATVEC_MAX_M { "matvec" } else { "matmul_tiled" };
    let kernel = gpu.registry.kernel(gpu, NAME, entry, w.dtype)?;
    for part in w.parts() {
        let p = Params::default().u(0, m).u(1, k).u(2, part.rows).u(3, n).u(4, part.row_start);
        let groups = if m <= MATVEC_MAX_M {
            b.grid(part.rows.div_ceil(8) as u64)
        } else {
            let gx = part.rows.div_ceil(64) as u32;
            let gy = m.div_ceil(64) as u32;
            let max = gpu.limits().max_compute_workgroups_per_dimension;
            if gx > max || gy > max {
                return Err(shape_err(NAME, format!("{m}x{n} output needs {gx}x{gy} workgroups, over {max}")));
            }
            [gx, gy, 1]
        };
        b.dispatch(kernel.clone(), p.bytes(), &[(1, xb), (2, &part.buffer), (3, yb)], groups);
    }
    Ok(())
}
