//! AdamW step, elementwise over every part of a parameter (shaders/adamw.wgsl). The scalars that
//! depend on the step number (bias corrections, decoupled decay) are computed once on the host
//! ([`AdamWScalars::new`]); the optimizer state lives in `train::optim::adamw`.

use super::shape_err;
use crate::runtime::{Batch, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "adamw";

/// The per-step scalars of one AdamW update of one tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWScalars {
    /// multiplies the weights first: 1 - lr * weight_decay (1 when the tensor is not decayed)
    pub decay: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// lr / (1 - beta1^t)
    pub step_size: f32,
    /// sqrt(1 - beta2^t)
    pub bc2_sqrt: f32,
    /// global-norm clip factor applied to the gradient (1 = no clipping)
    pub clip: f32,
}

impl AdamWScalars {
    /// The scalars of step `t` (1-based), computed in f64 like torch's Python floats.
    pub fn new(
        lr: f32,
        beta1: f32,
        beta2: f32,
        eps: f32,
        weight_decay: f32,
        t: u64,
        clip: f32,
    ) -> AdamWScalars {
        let (lr, b1, b2) = (lr as f64, beta1 as f64, beta2 as f64);
        let t = t.min(i32::MAX as u64) as i32;
        AdamWScalars {
            decay: (1.0 - lr * weight_decay as f64) as f32,
            beta1,
            beta2,
            eps,
            step_size: (lr / (1.0 - b1.powi(t))) as f32,
            bc2_sqrt: (1.0 - b2.powi(t)).sqrt() as f32,
            clip,
        }
    }

    fn words(&self, n: usize) -> Result<[u32; 12], GpuError> {
        let n = u32::try_from(n).map_err(|_| shape_err(NAME, format!("part of {n} elements exceeds u32")))?;
        let one_minus = |x: f32| (1.0 - x as f64) as f32;
        Ok([
            n,
            self.decay.to_bits(),
            one_minus(self.beta1).to_bits(),
            self.beta2.to_bits(),
            one_minus(self.beta2).to_bits(),
            self.eps.to_bits(),
            self.step_size.to_bits(),
            self.bc2_sqrt.to_bits(),
            self.clip.to_bits(),
            0,
            0,
            0,
        ])
    }
}

/// Error unless `t` is f32 with `like`'s shape and the same row parts (same split).
pub(crate) fn expect_same_layout(kernel: &'static str, like: &Tensor, t: &Tensor) -> Result<(), GpuError> {
    t.expect_dtype(DType::F32)?;
    let same_parts = like.parts().len() == t.parts().len()
        && like.parts().iter().zip(t.parts()).all(|(a, b)| a.row_start == b.row_start && a.rows == b.rows);
    if like.shape != t.shape || !same_parts {
        return Err(shape_err(
            kernel,
            format!(
                "tensor {:?} {:?} ({} parts) does not match {:?} {:?} ({} parts)",
                t.name,
                t.shape,
                t.parts().len(),
                like.name,
                like.shape,
                like.parts().len()
            ),
        ));
    }
    Ok(())
}

/// One AdamW step of `w` with gradient `g`, first moment `m`, second moment `v` (all f32, same
/// shape and parts), in place. One dispatch per part.
pub fn step(
    b: &mut Batch<'_>,
    w: &Tensor,
    g: &Tensor,
    m: &Tensor,
    v: &Tensor,
    s: &AdamWScalars,
) -> Result<(), GpuError> {
    w.expect_dtype(DType::F32)?;
    for t in [g, m, v] {
        expect_same_layout(NAME, w, t)?;
    }
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "adamw_step", DType::F32)?;
    let row_len = w.row_len();
    for (i, pw) in w.parts().iter().enumerate() {
        let n = pw.rows * row_len;
        if n == 0 {
            continue;
        }
        let words = s.words(n)?;
        let bufs = [
            (1, &pw.buffer),
            (2, &g.parts()[i].buffer),
            (3, &m.parts()[i].buffer),
            (4, &v.parts()[i].buffer),
        ];
        let groups = super::grid256(b, n);
        b.dispatch(kernel.clone(), bytemuck::cast_slice(&words), &bufs, groups);
    }
    Ok(())
}
