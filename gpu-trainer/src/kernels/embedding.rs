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

/// The tokens of a batch grouped by id, for a deterministic scatter-add (no float atomics):
/// `order` u32 [tokens] = token indices sorted by (id, index); `segments` u32 [unique, 3] =
/// (id, start, end) ranges into `order`.
#[derive(Clone, Debug)]
pub struct ScatterPlan {
    pub order: Tensor,
    pub segments: Tensor,
    pub tokens: usize,
    pub unique: usize,
}

impl ScatterPlan {
    /// Build the plan for `ids` on the host and upload it.
    pub fn new(gpu: &crate::runtime::Gpu, ids: &[u32]) -> Result<ScatterPlan, GpuError> {
        let _ = (gpu, ids);
        Err(shape_err(NAME, "not implemented yet (issue 4 in progress)".into()))
    }
}

/// Backward of [`forward`]: d_table[id, :] += scale * sum of dy[t, :] over tokens t with that id.
/// `dy` f32 [tokens, hidden]; `d_table` f32 [vocab, hidden], possibly split into row parts.
pub fn backward(b: &mut Batch<'_>, plan: &ScatterPlan, dy: &Tensor, d_table: &Tensor, scale: f32) -> Result<(), GpuError> {
    let _ = (b, plan, dy, d_table, scale);
    Err(shape_err(NAME, "not implemented yet (issue 4 in progress)".into()))
}

/// dst[idx[i], :] = src[i, :] (the inverse of `kv_cache::gather_rows`); other rows untouched.
/// `src` f32 [r, hidden], `idx` u32 [r] (distinct), `dst` f32 [n, hidden].
pub fn scatter_rows(b: &mut Batch<'_>, src: &Tensor, idx: &Tensor, dst: &Tensor) -> Result<(), GpuError> {
    let _ = (b, src, idx, dst);
    Err(shape_err(NAME, "not implemented yet (issue 4 in progress)".into()))
}
