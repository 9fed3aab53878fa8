//! RoPE, half-split layout, in place (shaders/rope.wgsl). The cos/sin of
//! every (token, pair) are computed on the host with exactly the CPU
//! reference's f32 math ([`RopeTable`]) so GPU sin/cos accuracy at large
//! angles never matters; the kernel only rotates ([`forward`] by +angle,
//! [`backward`] by -angle).

use super::{Params, expect_numel, grid256, shape_err};
use crate::runtime::{Batch, Gpu, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "rope";

/// cos/sin table [tokens, head_dim/2, 2] for one set of positions.
#[derive(Clone, Debug)]
pub struct RopeTable {
    pub table: Tensor,
    pub tokens: usize,
    pub head_dim: usize,
}

impl RopeTable {
    /// inv_freq_i = 1 / theta^(2i/head_dim); angle = pos * inv_freq_i (f32).
    pub fn new(gpu: &Gpu, positions: &[u32], head_dim: usize, theta: f32) -> Result<RopeTable, GpuError> {
        if !head_dim.is_multiple_of(2) {
            return Err(shape_err(NAME, format!("head_dim {head_dim} is odd")));
        }
        let cs = cos_sin_table(positions, head_dim, theta);
        let table =
            Tensor::from_f32(gpu, "rope cos/sin", &[positions.len(), head_dim / 2, 2], DType::F32, &cs)?;
        Ok(RopeTable { table, tokens: positions.len(), head_dim })
    }
}

/// cos/sin `[tokens, head_dim/2, 2]` of `positions`, with exactly the CPU reference's f32 math:
/// inv_freq_i = 1 / theta^(2i/head_dim), angle = pos * inv_freq_i. Built on the host so the GPU's
/// sin/cos accuracy at large positions never matters.
pub fn cos_sin_table(positions: &[u32], head_dim: usize, theta: f32) -> Vec<f32> {
    let half = head_dim / 2;
    let inv_freq: Vec<f32> = (0..half).map(|i| 1.0 / theta.powf((2 * i) as f32 / head_dim as f32)).collect();
    let mut cs = Vec::with_capacity(positions.len() * head_dim);
    for &pos in positions {
        for &f in &inv_freq {
            let (s, c) = (pos as f32 * f).sin_cos();
            cs.push(c);
            cs.push(s);
        }
    }
    cs
}

/// Rotate x [tokens, heads, head_dim] in place by the table's angles.
pub fn forward(b: &mut Batch<'_>, x: &Tensor, table: &RopeTable, heads: usize) -> Result<(), GpuError> {
    rotate(b, "rope_fwd", x, table, heads)
}

/// Backward of [`forward`]: rotate the gradient `dx` [tokens, heads, head_dim] back by the same
/// angles (the transpose of the rotation), in place.
pub fn backward(b: &mut Batch<'_>, dx: &Tensor, table: &RopeTable, heads: usize) -> Result<(), GpuError> {
    rotate(b, "rope_bwd", dx, table, heads)
}

/// One dispatch of `entry` (rope_fwd / rope_bwd) over every (token, head, pair) of `x`.
fn rotate(
    b: &mut Batch<'_>,
    entry: &'static str,
    x: &Tensor,
    table: &RopeTable,
    heads: usize,
) -> Result<(), GpuError> {
    x.expect_dtype(DType::F32)?;
    expect_numel(NAME, x, table.tokens * heads * table.head_dim)?;
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, entry, DType::F32)?;
    let p = Params::default().u(0, table.tokens).u(1, heads).u(2, table.head_dim);
    let groups = grid256(b, table.tokens * heads * table.head_dim / 2);
    b.dispatch(kernel, p.bytes(), &[(1, table.table.buffer(NAME)?), (2, x.buffer(NAME)?)], groups);
    Ok(())
}
