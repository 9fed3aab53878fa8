//! [`Param`]: one trainable tensor (f32 master copy) and its gradient, under its HuggingFace name.

use crate::runtime::{Gpu, GpuError};
use crate::tensor::{DType, Tensor};

/// A trainable tensor and its gradient: both f32, same shape, possibly split into the same row
/// parts (large embeddings). `name` is the HuggingFace tensor name (`model.layers.0.mlp.up_proj.weight`).
#[derive(Debug)]
pub struct Param {
    pub name: String,
    /// the weights, f32
    pub value: Tensor,
    /// dL/d(value), f32, accumulated over micro-batches until the optimizer step zeroes it
    pub grad: Tensor,
}

impl Param {
    /// Upload `data` (f32, `shape`) and allocate a zero gradient beside it.
    pub fn new(gpu: &Gpu, name: &str, shape: &[usize], data: &[f32]) -> Result<Param, GpuError> {
        let value = Tensor::from_f32(gpu, name, shape, DType::F32, data)?;
        let grad = Tensor::zeros(gpu, &format!("{name} (grad)"), shape, DType::F32)?;
        Ok(Param { name: name.to_string(), value, grad })
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.value.numel()
    }
}
