//! Embedding gather * scale (shaders/embedding.wgsl). The table [vocab,
//! hidden] may be f32/f16/bf16 and split into row parts; each part is one
//! dispatch that writes the tokens whose id it holds. Ids outside the table
//! leave their output row untouched. Backward: [`backward`] (deterministic
//! scatter-add by a host-built [`ScatterPlan`]) and [`scatter_rows`].

use super::{Params, expect_numel, grid256, shape_err};
use crate::runtime::{Batch, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "embedding";

/// y[t, :] = table[ids[t], :] * scale; ids u32 [tokens], y f32 [tokens, hidden].
pub fn forward(
    b: &mut Batch<'_>,
    ids: &Tensor,
    table: &Tensor,
    y: &Tensor,
    scale: f32,
) -> Result<(), GpuError> {
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
    /// The segments' ids (ascending), kept on the host to pick each table part's segments.
    segment_ids: Vec<u32>,
}

impl ScatterPlan {
    /// Build the plan for `ids` on the host and upload it. Empty `ids` is an error.
    pub fn new(gpu: &crate::runtime::Gpu, ids: &[u32]) -> Result<ScatterPlan, GpuError> {
        if ids.is_empty() {
            return Err(shape_err(NAME, "scatter plan over no token ids".into()));
        }
        let (order, segments) = group_by_id(ids);
        let segment_ids: Vec<u32> = segments.iter().map(|s| s[0]).collect();
        let flat: Vec<u32> = segments.iter().flatten().copied().collect();
        let unique = segments.len();
        Ok(ScatterPlan {
            order: Tensor::from_u32(gpu, "embedding scatter order", &[ids.len()], &order)?,
            segments: Tensor::from_u32(gpu, "embedding scatter segments", &[unique, 3], &flat)?,
            tokens: ids.len(),
            unique,
            segment_ids,
        })
    }
}

/// Token indices sorted by (id, index) and the (id, start, end) runs of equal ids in that order.
fn group_by_id(ids: &[u32]) -> (Vec<u32>, Vec<[u32; 3]>) {
    let mut order: Vec<u32> = (0..ids.len() as u32).collect();
    order.sort_by_key(|&t| (ids[t as usize], t));
    let mut segments: Vec<[u32; 3]> = Vec::new();
    for (i, &t) in order.iter().enumerate() {
        let id = ids[t as usize];
        match segments.last_mut() {
            Some(s) if s[0] == id => s[2] = i as u32 + 1,
            _ => segments.push([id, i as u32, i as u32 + 1]),
        }
    }
    (order, segments)
}

/// Backward of [`forward`]: d_table[id, :] += scale * sum of dy[t, :] over tokens t with that id.
/// `dy` f32 [tokens, hidden]; `d_table` f32 [vocab, hidden], possibly split into row parts.
///
/// One `embedding_bwd` dispatch per part of `d_table`, one workgroup per id of that part
/// (summing its tokens in index order): deterministic, no atomics. An id outside the table is
/// an error.
pub fn backward(
    b: &mut Batch<'_>,
    plan: &ScatterPlan,
    dy: &Tensor,
    d_table: &Tensor,
    scale: f32,
) -> Result<(), GpuError> {
    dy.expect_dtype(DType::F32)?;
    d_table.expect_dtype(DType::F32)?;
    let hidden = d_table.row_len();
    expect_numel(NAME, dy, plan.tokens * hidden)?;
    let vocab = d_table.rows();
    if let Some(&id) = plan.segment_ids.last().filter(|&&id| id as usize >= vocab) {
        return Err(shape_err(NAME, format!("token id {id} outside {:?} {:?}", d_table.name, d_table.shape)));
    }
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "embedding_bwd", DType::F32)?;
    let bufs = (dy.buffer(NAME)?, plan.order.buffer(NAME)?, plan.segments.buffer(NAME)?);
    for part in d_table.parts() {
        // Segments are sorted by id: this part's are one contiguous run.
        let first = plan.segment_ids.partition_point(|&id| (id as usize) < part.row_start);
        let end = plan.segment_ids.partition_point(|&id| (id as usize) < part.row_start + part.rows);
        if first == end {
            continue;
        }
        let p = Params::default()
            .u(0, plan.tokens)
            .u(1, hidden)
            .u(2, part.row_start)
            .u(3, part.rows)
            .f(4, scale)
            .u(5, first)
            .u(6, end - first);
        let bindings = [(4, bufs.0), (5, bufs.1), (6, bufs.2), (7, &part.buffer)];
        let groups = b.grid((end - first) as u64);
        b.dispatch(kernel.clone(), p.bytes(), &bindings, groups);
    }
    Ok(())
}

/// dst[idx[i], :] = src[i, :] (the inverse of `kv_cache::gather_rows`); other rows untouched.
/// `src` f32 [r, hidden], `idx` u32 [r] (distinct), `dst` f32 [n, hidden].
/// Indices are not read back: an `idx[i] >= n` skips its row (the caller guarantees range and
/// distinctness; repeated indices leave one of their rows, unspecified which).
pub fn scatter_rows(b: &mut Batch<'_>, src: &Tensor, idx: &Tensor, dst: &Tensor) -> Result<(), GpuError> {
    src.expect_dtype(DType::F32)?;
    idx.expect_dtype(DType::U32)?;
    dst.expect_dtype(DType::F32)?;
    let hidden = dst.row_len();
    if src.row_len() != hidden {
        return Err(shape_err(
            NAME,
            format!(
                "scatter {:?} {:?} into {:?} {:?}: row lengths differ",
                src.name, src.shape, dst.name, dst.shape
            ),
        ));
    }
    let r = idx.numel();
    expect_numel(NAME, src, r * hidden)?;
    let gpu = b.gpu();
    let kernel = gpu.registry.kernel(gpu, NAME, "scatter_rows", DType::F32)?;
    let p = Params::default().u(0, r).u(1, hidden).u(3, dst.rows());
    let bindings = [(8, src.buffer(NAME)?), (1, idx.buffer(NAME)?), (3, dst.buffer(NAME)?)];
    let groups = grid256(b, r * hidden);
    b.dispatch(kernel, p.bytes(), &bindings, groups);
    Ok(())
}
