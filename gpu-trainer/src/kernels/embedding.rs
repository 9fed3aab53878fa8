//! Embedding gather * scale (shaders/embedding.wgsl). The table [vocab,
//! hidden] may be f32/f16/bf16 and split into row parts; each part is one
//! dispatch that writes the tokens whose id it holds. Ids outside the table
//! leave their output row untouched.

use super::{Params, expect_numel, grid256, shape_err};
use crate::runtime::{Batch, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "embedding";

/// y[t, :] = table[ids[t], :] * scale; ids u32 [tokens], y f32 [tokens, hidden].
pub fn forward(b: &mut Batch<'_>, ids: &Tensor, table: &Tensor, y: &Tensor, scale: f32) -> Result<(), GpuError> {
    ids.expect_dtype(DType::U32)?;
    y.expect_dtype(DType::F32)?;
    if table.dtype == DType::U32 {
        return Err(shape_err(NAME, format!("table {:?} is u32", table.name)));
    }
    let tokens = ids.numel();
    let hidden = table.row_len();
    expect_numel(NAME, y, tokens * hidden)?;
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "embedding_fwd", table.dtype)?;
    let (ib, yb) = (ids.buffer(NAME)?, y.buffer(NAME)?);
    let groups = grid256(b, tokens * hidden);
    for part in table.parts() {
        let p = Params::default().u(0, tokens).u(1, hidden).u(2, part.row_start).u(3, part.rows).f(4, scale);
        b.dispatch(kernel.clone(), p.bytes(), &[(1, ib), (2, &part.buffer), (3, yb)], groups);
    }
    Ok(())
}
