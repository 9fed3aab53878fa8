//! Y = X W^T (shaders/matmul.wgsl). X f32 [M, K]; W [N, K] in f32/f16/bf16,
//! possibly split into row parts (the tied LM head over a 256000-row table):
//! one dispatch per part writes its column range of Y. M <= 4 uses the
//! `matvec` decode kernel, larger M the 64x64 register-tiled kernel.
//! Backward ([`backward_input`], [`backward_weight`]) uses the same tiling.

use super::{Params, expect_numel, shape_err};
use crate::runtime::{Batch, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "matmul";

/// Largest M that takes the decode (`matvec`) path.
pub const MATVEC_MAX_M: usize = 4;

/// Which matmul kernel to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// `Matvec` / `MatvecRows` for M <= [`MATVEC_MAX_M`] (by adapter type), `Tiled` otherwise.
    Auto,
    /// 64x64 register/shared-memory tiled kernel (any M).
    Tiled,
    /// Decode kernel for GPUs: 32 threads share each column's K (M <= 4).
    Matvec,
    /// Decode kernel for CPU adapters, no barriers (M <= 4): `matvec_rows` (M = 1, 4 columns
    /// per thread sharing each X load) or `matvec_rows_m4` (one thread per column).
    MatvecRows,
}

/// Y[m, n] = sum_k X[m, k] W[n, k]; `y` is f32 [M, N].
pub fn forward(b: &mut Batch<'_>, x: &Tensor, w: &Tensor, y: &Tensor) -> Result<(), GpuError> {
    forward_with(b, x, w, y, Path::Auto)
}

/// [`forward`] with an explicit kernel choice (tests, benchmarks).
pub fn forward_with(
    b: &mut Batch<'_>,
    x: &Tensor,
    w: &Tensor,
    y: &Tensor,
    path: Path,
) -> Result<(), GpuError> {
    x.expect_dtype(DType::F32)?;
    y.expect_dtype(DType::F32)?;
    if w.dtype == DType::U32 {
        return Err(shape_err(NAME, format!("weight {:?} is u32", w.name)));
    }
    let k = w.row_len();
    let n = w.rows();
    if k == 0 || !x.numel().is_multiple_of(k) {
        return Err(shape_err(
            NAME,
            format!("X {:?} {:?} is not [M, {k}] for W {:?} {:?}", x.name, x.shape, w.name, w.shape),
        ));
    }
    let m = x.numel() / k;
    expect_numel(NAME, y, m * n)?;
    let xb = x.buffer(NAME)?;
    let yb = y.buffer(NAME)?;
    let gpu = b.gpu();
    // Decode: on CPU adapters (lavapipe) barriers dominate, so one thread per
    // column there; on GPUs 32 threads share a column's K (coalesced reads).
    let cpu = gpu.adapter_info().device_type == wgpu::DeviceType::Cpu;
    let path = match path {
        Path::Auto if m > MATVEC_MAX_M => Path::Tiled,
        Path::Auto if cpu => Path::MatvecRows,
        Path::Auto => Path::Matvec,
        Path::Matvec | Path::MatvecRows if m > MATVEC_MAX_M => {
            return Err(shape_err(NAME, format!("{path:?} needs M <= {MATVEC_MAX_M}, got {m}")));
        }
        p => p,
    };
    let entry = match path {
        Path::MatvecRows if m == 1 => "matvec_rows",
        Path::MatvecRows => "matvec_rows_m4",
        Path::Matvec => "matvec",
        _ => "matmul_tiled",
    };
    let kernel = gpu.registry.kernel(gpu, NAME, entry, w.dtype)?;
    for part in w.parts() {
        let p = Params::default().u(0, m).u(1, k).u(2, part.rows).u(3, n).u(4, part.row_start);
        let groups = if entry == "matvec_rows" {
            // 16 threads x 4 rows per workgroup (shaders/matmul.wgsl MVR_*).
            b.grid(part.rows.div_ceil(64) as u64)
        } else if entry == "matvec_rows_m4" {
            b.grid(part.rows.div_ceil(64) as u64)
        } else if entry == "matvec" {
            b.grid(part.rows.div_ceil(8) as u64)
        } else {
            let gx = part.rows.div_ceil(64) as u32;
            let gy = m.div_ceil(64) as u32;
            let max = gpu.limits().max_compute_workgroups_per_dimension;
            if gx > max || gy > max {
                return Err(shape_err(
                    NAME,
                    format!("{m}x{n} output needs {gx}x{gy} workgroups, over {max}"),
                ));
            }
            [gx, gy, 1]
        };
        b.dispatch(kernel.clone(), p.bytes(), &[(1, xb), (2, &part.buffer), (3, yb)], groups);
    }
    Ok(())
}

/// dX (+)= dY W: `dy` f32 [M, N], `w` [N, K] (f32/f16/bf16, possibly split into row parts),
/// `dx` f32 [M, K]. `accumulate` adds into `dx` instead of overwriting it.
///
/// One `matmul_bwd_input` dispatch per part of `w` (64x64 tiles of dX, reduction over the
/// part's rows): part p adds dY[:, its rows] W_p; the first overwrites unless `accumulate`.
pub fn backward_input(
    b: &mut Batch<'_>,
    dy: &Tensor,
    w: &Tensor,
    dx: &Tensor,
    accumulate: bool,
) -> Result<(), GpuError> {
    dy.expect_dtype(DType::F32)?;
    dx.expect_dtype(DType::F32)?;
    if w.dtype == DType::U32 {
        return Err(shape_err(NAME, format!("weight {:?} is u32", w.name)));
    }
    let (n, k) = (w.rows(), w.row_len());
    let m = rows_of(dy, n, "dY", w)?;
    if dx.numel() != m * k {
        return Err(shape_err(
            NAME,
            format!(
                "dX {:?} {:?} is not [{m}, {k}] for dY {:?} {:?} and W {:?} {:?}",
                dx.name, dx.shape, dy.name, dy.shape, w.name, w.shape
            ),
        ));
    }
    if m == 0 {
        return Ok(());
    }
    let (dyb, dxb) = (dy.buffer(NAME)?, dx.buffer(NAME)?);
    let gpu = b.gpu();
    let groups = tile_grid(b, k, m, "dX")?;
    let kernel = gpu.registry.kernel(gpu, NAME, "matmul_bwd_input", w.dtype)?;
    for (i, part) in w.parts().iter().enumerate() {
        let add = accumulate || i > 0;
        let p = backward_params(m, k, part.rows, n, part.row_start, add);
        b.dispatch(kernel.clone(), p.bytes(), &[(4, dyb), (2, &part.buffer), (3, dxb)], groups);
    }
    Ok(())
}

/// dW (+)= dY^T X: `dy` f32 [M, N], `x` f32 [M, K], `dw` f32 [N, K] (possibly split into row
/// parts: each part gets its rows). `accumulate` adds into `dw` (gradient accumulation).
///
/// One `matmul_bwd_weight` dispatch per part of `dw` (64x64 tiles of dW, reduction over M).
pub fn backward_weight(
    b: &mut Batch<'_>,
    dy: &Tensor,
    x: &Tensor,
    dw: &Tensor,
    accumulate: bool,
) -> Result<(), GpuError> {
    dy.expect_dtype(DType::F32)?;
    x.expect_dtype(DType::F32)?;
    dw.expect_dtype(DType::F32)?;
    let (n, k) = (dw.rows(), dw.row_len());
    let m = rows_of(dy, n, "dY", dw)?;
    if x.numel() != m * k {
        return Err(shape_err(
            NAME,
            format!(
                "X {:?} {:?} is not [{m}, {k}] for dY {:?} {:?} and dW {:?} {:?}",
                x.name, x.shape, dy.name, dy.shape, dw.name, dw.shape
            ),
        ));
    }
    let (dyb, xb) = (dy.buffer(NAME)?, x.buffer(NAME)?);
    if m == 0 {
        // dW = an empty sum: zero unless accumulating.
        if !accumulate {
            b.clear_tensor(dw);
        }
        return Ok(());
    }
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "matmul_bwd_weight", DType::F32)?;
    for part in dw.parts() {
        let groups = tile_grid(b, k, part.rows, "dW")?;
        let p = backward_params(m, k, part.rows, n, part.row_start, accumulate);
        b.dispatch(kernel.clone(), p.bytes(), &[(4, dyb), (1, xb), (3, &part.buffer)], groups);
    }
    Ok(())
}

/// M such that `dy` is [M, n]; an error naming `dy` and `other` (the [n, K] tensor) otherwise.
fn rows_of(dy: &Tensor, n: usize, what: &str, other: &Tensor) -> Result<usize, GpuError> {
    if n == 0 || other.row_len() == 0 || !dy.numel().is_multiple_of(n) {
        return Err(shape_err(
            NAME,
            format!(
                "{what} {:?} {:?} is not [M, {n}] for {:?} {:?}",
                dy.name, dy.shape, other.name, other.shape
            ),
        ));
    }
    Ok(dy.numel() / n)
}

/// Uniforms of the backward kernels (shaders/matmul.wgsl MatmulParams): one part of `rows` rows
/// starting at `row_start` of an [n, k] weight, dY [m, n].
fn backward_params(m: usize, k: usize, rows: usize, n: usize, row_start: usize, accumulate: bool) -> Params {
    Params::default().u(0, m).u(1, k).u(2, rows).u(3, n).u(4, row_start).u(5, accumulate as usize)
}

/// 64x64-tile grid over an output of `rows` x `cols`; an error past the per-dimension limit.
fn tile_grid(b: &Batch<'_>, cols: usize, rows: usize, what: &str) -> Result<[u32; 3], GpuError> {
    let max = b.gpu().limits().max_compute_workgroups_per_dimension as usize;
    let (gx, gy) = (cols.div_ceil(64), rows.div_ceil(64));
    if gx > max || gy > max {
        return Err(shape_err(
            NAME,
            format!("{what} [{rows}, {cols}] needs {gx}x{gy} workgroups of 64x64, over {max}"),
        ));
    }
    Ok([gx as u32, gy as u32, 1])
}
