//! Forward kernels, one module per WGSL op family (src/kernels/<name>.rs
//! dispatches shaders/<name>.wgsl). Each records into a [`Batch`]; nothing runs
//! until the batch is submitted. Backward twins go beside each `forward`
//! (llm.c style), in the same module and the same WGSL file.
//!
//! Activations are f32; weights (matmul W, norm w, embedding table) may be
//! f32, f16 or bf16 and are decoded to f32 in the shader.

pub mod adafactor;
pub mod adamw;
pub mod attention;
pub mod elementwise;
pub mod embedding;
pub mod kv_cache;
pub mod matmul;
pub mod reduce;
pub mod rmsnorm;
pub mod rope;
pub mod xent;

use crate::runtime::{Batch, GpuError};
use crate::tensor::Tensor;

/// Uniform parameter block: 8 words (u32 or f32 bits), 32 bytes.
#[derive(Clone, Copy, Default)]
pub(crate) struct Params([u32; 8]);

impl Params {
    pub(crate) fn u(mut self, i: usize, v: usize) -> Self {
        self.0[i] = u32::try_from(v).expect("kernel parameter exceeds u32");
        self
    }
    pub(crate) fn f(mut self, i: usize, v: f32) -> Self {
        self.0[i] = v.to_bits();
        self
    }
    pub(crate) fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice(&self.0)
    }
}

pub(crate) fn shape_err(kernel: &'static str, message: String) -> GpuError {
    GpuError::Shape { kernel, message }
}

/// Error unless `t` holds exactly `n` elements.
pub(crate) fn expect_numel(kernel: &'static str, t: &Tensor, n: usize) -> Result<(), GpuError> {
    if t.numel() != n {
        return Err(shape_err(
            kernel,
            format!("tensor {:?} has shape {:?} ({} elements), {n} expected", t.name, t.shape, t.numel()),
        ));
    }
    Ok(())
}

/// Workgroups for `n` threads of 256, as a folded grid.
pub(crate) fn grid256(b: &Batch<'_>, n: usize) -> [u32; 3] {
    b.grid((n as u64).div_ceil(256))
}
