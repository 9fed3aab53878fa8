//! AdaFactor step of one tensor (shaders/adafactor.wgsl), transformers' `Adafactor` with
//! scale_parameter=False, relative_step=False, warmup_init=False and an explicit lr. [`step`]
//! records, for one tensor, every kernel of the update: second-moment statistics, the update's
//! sum of squares (partials here, the per-tensor total by `reduce::sumsq_ranges`), then the
//! clipped update applied to the weights. The state tensors live in `train::optim::adafactor`.
//!
//! Factored tensors (rank >= 2, shape `[..., R, C]`) are `B = prod(leading dims)` matrices of
//! `R x C`; row state `[B * R]`, column state `[B * C]` (both must fit one binding). Column sums
//! go through per-block partials: a block is up to `block_rows` rows of one matrix within one
//! part, so a matrix split over parts still sums every row.

use super::adamw::expect_same_layout;
use super::{reduce, shape_err};
use crate::runtime::{Batch, GpuError};
use crate::tensor::{DType, Tensor};

const NAME: &str = "adafactor";

/// The per-step scalars of one AdaFactor update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaFactorScalars {
    pub lr: f32,
    /// 1 - t^decay_rate
    pub beta2t: f32,
    /// added to g^2 (transformers' eps[0], 1e-30)
    pub eps1: f32,
    /// first-moment decay; `None` = no first moment (the default)
    pub beta1: Option<f32>,
    pub weight_decay: f32,
    /// the update is divided by max(1, RMS(update) / clip_threshold)
    pub clip_threshold: f32,
    /// global-norm clip factor applied to the gradient (1 = no clipping)
    pub clip: f32,
}

impl AdaFactorScalars {
    /// beta2t of step `t` (1-based): 1 - t^decay_rate, in f64 like transformers' `math.pow`.
    pub fn beta2t(t: u64, decay_rate: f32) -> f32 {
        (1.0 - (t as f64).powf(decay_rate as f64)) as f32
    }
}

/// The second-moment state of one tensor.
#[derive(Clone, Copy, Debug)]
pub enum SecondMoment<'a> {
    /// rank >= 2: running means of the rows `[B * R]` and the columns `[B * C]`
    Factored { row: &'a Tensor, col: &'a Tensor },
    /// rank < 2: the full second moment, same shape and parts as the tensor
    Vector { v: &'a Tensor },
}

/// Scratch buffers shared by every tensor of a step (reused tensor after tensor).
#[derive(Clone, Copy, Debug)]
pub struct Scratch<'a> {
    /// F32, at least [`col_blocks`] x C of the largest factored tensor
    pub col_partials: &'a Tensor,
    /// F32, at least B of the largest factored tensor
    pub row_mean: &'a Tensor,
    /// U32 partial pairs, at least `reduce::tensor_partial_count` of the largest tensor
    pub partials: &'a Tensor,
    /// U32 pairs: pair t = (0, `reduce::tensor_partial_count` of tensor t)
    pub ranges: &'a Tensor,
    /// U32 pairs: pair t receives tensor t's sum of squared updates
    pub sums: &'a Tensor,
    /// any F32 tensor of at least one element, bound in place of the first moment when there is none
    pub dummy: &'a Tensor,
}

/// (B, R, C) of a rank >= 2 shape.
pub fn matrices(shape: &[usize]) -> (usize, usize, usize) {
    let n = shape.len();
    (shape[..n - 2].iter().product(), shape[n - 2], shape[n - 1])
}

/// How one part is cut into column-partial blocks: (segment length in flat rows, blocks per
/// segment, blocks in the part).
fn part_blocks(shape: &[usize], part_rows: usize, block_rows: usize) -> (usize, usize, usize) {
    let (_, r, c) = matrices(shape);
    let row_len: usize = shape[1..].iter().product();
    let flat_rows = part_rows * row_len / c.max(1);
    let seg_len = if shape.len() == 2 { flat_rows } else { r };
    if seg_len == 0 {
        return (0, 0, 0);
    }
    let per_seg = seg_len.div_ceil(block_rows);
    (seg_len, per_seg, flat_rows / seg_len * per_seg)
}

/// Column-partial blocks of a factored tensor `w` with `block_rows` rows per block (over all parts).
pub fn col_blocks(w: &Tensor, block_rows: usize) -> usize {
    w.parts().iter().map(|p| part_blocks(&w.shape, p.rows, block_rows).2).sum()
}

/// Rows per column-partial block for `w`: 64, doubled until the partials (`col_blocks` x C f32)
/// fit in `max_binding` bytes.
pub fn block_rows_for(w: &Tensor, max_binding: u64) -> usize {
    let (_, r, c) = matrices(&w.shape);
    let mut block_rows = 64usize;
    while block_rows < r.max(1) && (col_blocks(w, block_rows) * c * 4) as u64 > max_binding {
        block_rows *= 2;
    }
    block_rows
}

/// The uniform block of adafactor.wgsl (`AfParams`, 20 words).
#[derive(Clone, Copy, Default)]
struct Words([u32; 20]);

impl Words {
    fn u(mut self, i: usize, v: usize) -> Result<Self, GpuError> {
        self.0[i] =
            u32::try_from(v).map_err(|_| shape_err(NAME, format!("kernel parameter {v} exceeds u32")))?;
        Ok(self)
    }
    fn f(mut self, i: usize, v: f32) -> Self {
        self.0[i] = v.to_bits();
        self
    }
    fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice(&self.0)
    }
}

const N: usize = 0;
const COLS: usize = 1;
const ROWS: usize = 2;
const ROW_OFF: usize = 3;
const SEG_LEN: usize = 4;
const BLOCKS_PER_SEG: usize = 5;
const BLOCK_ROWS: usize = 6;
const BLOCK_OFF: usize = 7;
const CLIP: usize = 8;
const EPS1: usize = 9;
const B2T: usize = 10;
const ONE_MINUS_B2T: usize = 11;
const LR: usize = 12;
const BETA1: usize = 13;
const WD_LR: usize = 14;
const THR: usize = 15;
const SQRT_NUMEL: usize = 16;
const TENSOR: usize = 17;
const USE_M: usize = 18;
const ONE_MINUS_B1: usize = 19;

fn base(
    s: &AdaFactorScalars,
    cols: usize,
    rows: usize,
    block_rows: usize,
    numel: usize,
    tensor: usize,
) -> Result<Words, GpuError> {
    let beta1 = s.beta1.unwrap_or(0.0);
    Words::default()
        .u(COLS, cols)?
        .u(ROWS, rows)?
        .u(BLOCK_ROWS, block_rows)?
        .u(TENSOR, tensor)?
        .u(USE_M, s.beta1.is_some() as usize)?
        .f(CLIP, s.clip)
        .f(EPS1, s.eps1)
        .f(B2T, s.beta2t)
        .f(ONE_MINUS_B2T, (1.0 - s.beta2t as f64) as f32)
        .f(LR, s.lr)
        .f(BETA1, beta1)
        .f(ONE_MINUS_B1, (1.0 - beta1 as f64) as f32)
        .f(WD_LR, (s.weight_decay as f64 * s.lr as f64) as f32)
        .f(THR, s.clip_threshold)
        .f(SQRT_NUMEL, (numel as f64).sqrt() as f32)
        .u(N, 0)
}

fn expect_f32_numel(t: &Tensor, at_least: usize, what: &str) -> Result<(), GpuError> {
    t.expect_dtype(DType::F32)?;
    if t.numel() < at_least {
        return Err(shape_err(
            NAME,
            format!("{what} {:?} holds {} elements, {at_least} needed", t.name, t.numel()),
        ));
    }
    Ok(())
}

/// Record one AdaFactor step of `w` (f32, in place) with gradient `g`, second moment `second`,
/// optional first moment `m` (same layout as `w`; required iff `s.beta1` is set), as tensor
/// number `tensor` of the step (its pair in `scratch.sums` / `scratch.ranges`).
#[allow(clippy::too_many_arguments)]
pub fn step(
    b: &mut Batch<'_>,
    w: &Tensor,
    g: &Tensor,
    second: SecondMoment<'_>,
    m: Option<&Tensor>,
    scratch: &Scratch<'_>,
    tensor: usize,
    block_rows: usize,
    s: &AdaFactorScalars,
) -> Result<(), GpuError> {
    w.expect_dtype(DType::F32)?;
    expect_same_layout(NAME, w, g)?;
    match (m, s.beta1) {
        (Some(m), Some(_)) => expect_same_layout(NAME, w, m)?,
        (None, None) => {}
        _ => {
            return Err(shape_err(NAME, format!("tensor {:?}: first moment given iff beta1 is set", w.name)));
        }
    }
    expect_f32_numel(scratch.dummy, 1, "dummy")?;
    let numel = w.numel();
    if numel == 0 {
        return Ok(());
    }
    let gpu = b.gpu();
    let kernel = |entry: &'static str| gpu.registry.kernel(gpu, NAME, entry, DType::F32);
    let row_len = w.row_len();
    let partials = scratch.partials.buffer(NAME)?;
    let m_buf = |i: usize| m.map(|m| &m.parts()[i].buffer).unwrap_or(&scratch.dummy.parts()[0].buffer);
    let pcount = reduce::tensor_partial_count(w);
    if scratch.partials.numel() < 2 * pcount {
        return Err(shape_err(NAME, format!("partials scratch too small for {:?}", w.name)));
    }
    match second {
        SecondMoment::Factored { row, col } => {
            if w.shape.len() < 2 {
                return Err(shape_err(NAME, format!("tensor {:?} {:?} cannot be factored", w.name, w.shape)));
            }
            let (bm, r, c) = matrices(&w.shape);
            let blocks = col_blocks(w, block_rows);
            expect_f32_numel(row, bm * r, "row state")?;
            expect_f32_numel(col, bm * c, "column state")?;
            expect_f32_numel(scratch.col_partials, blocks * c, "column partials")?;
            expect_f32_numel(scratch.row_mean, bm, "row means")?;
            let (row_b, col_b) = (row.buffer(NAME)?, col.buffer(NAME)?);
            let (cp_b, rm_b) = (scratch.col_partials.buffer(NAME)?, scratch.row_mean.buffer(NAME)?);
            let p0 = base(s, c, r, block_rows, numel, tensor)?;
            // 1. row and column statistics, part by part
            let mut block_off = 0;
            for (i, pw) in w.parts().iter().enumerate() {
                let gp = &g.parts()[i].buffer;
                let flat_rows = pw.rows * row_len / c;
                if flat_rows == 0 {
                    continue;
                }
                let row_off = pw.row_start * row_len / c;
                let p = p0.u(N, flat_rows)?.u(ROW_OFF, row_off)?;
                b.dispatch(kernel("af_row")?, p.bytes(), &[(2, gp), (3, row_b)], b.grid(flat_rows as u64));
                let (seg_len, per_seg, nblocks) = part_blocks(&w.shape, pw.rows, block_rows);
                let p = p0
                    .u(N, nblocks)?
                    .u(SEG_LEN, seg_len)?
                    .u(BLOCKS_PER_SEG, per_seg)?
                    .u(BLOCK_OFF, block_off)?;
                let groups = b.grid((nblocks * c.div_ceil(256)) as u64);
                b.dispatch(kernel("af_col_partial")?, p.bytes(), &[(2, gp), (5, cp_b)], groups);
                block_off += nblocks;
            }
            let p = p0.u(N, bm * c)?.u(BLOCK_OFF, blocks / bm)?;
            b.dispatch(
                kernel("af_col_finish")?,
                p.bytes(),
                &[(4, col_b), (5, cp_b)],
                super::grid256(b, bm * c),
            );
            let p = p0.u(N, bm)?;
            b.dispatch(kernel("af_row_mean")?, p.bytes(), &[(3, row_b), (7, rm_b)], b.grid(bm as u64));
            // 2. partial sums of the squared update
            let mut off = 0;
            for (i, pw) in w.parts().iter().enumerate() {
                let n = pw.rows * row_len;
                if n == 0 {
                    continue;
                }
                let p = p0.u(N, n)?.u(ROW_OFF, pw.row_start * row_len / c)?.u(BLOCK_OFF, off)?;
                let bufs = [(2, &g.parts()[i].buffer), (3, row_b), (4, col_b), (6, partials), (7, rm_b)];
                b.dispatch(
                    kernel("af_factored_sumsq")?,
                    p.bytes(),
                    &bufs,
                    b.grid(reduce::partial_count(n) as u64),
                );
                off += reduce::partial_count(n);
            }
            reduce::sumsq_ranges(b, scratch.partials, scratch.ranges, tensor, 1, scratch.sums, tensor)?;
            // 3. apply
            let sums = scratch.sums.buffer(NAME)?;
            for (i, pw) in w.parts().iter().enumerate() {
                let n = pw.rows * row_len;
                if n == 0 {
                    continue;
                }
                let p = p0.u(N, n)?.u(ROW_OFF, pw.row_start * row_len / c)?;
                let bufs = [
                    (1, &pw.buffer),
                    (2, &g.parts()[i].buffer),
                    (3, row_b),
                    (4, col_b),
                    (7, rm_b),
                    (8, sums),
                    (9, m_buf(i)),
                ];
                b.dispatch(kernel("af_apply_factored")?, p.bytes(), &bufs, super::grid256(b, n));
            }
        }
        SecondMoment::Vector { v } => {
            expect_same_layout(NAME, w, v)?;
            let p0 = base(s, 1, 1, block_rows, numel, tensor)?;
            let mut off = 0;
            for (i, pw) in w.parts().iter().enumerate() {
                let n = pw.rows * row_len;
                if n == 0 {
                    continue;
                }
                let p = p0.u(N, n)?.u(BLOCK_OFF, off)?;
                let bufs = [(2, &g.parts()[i].buffer), (3, &v.parts()[i].buffer), (6, partials)];
                b.dispatch(
                    kernel("af_vector_sumsq")?,
                    p.bytes(),
                    &bufs,
                    b.grid(reduce::partial_count(n) as u64),
                );
                off += reduce::partial_count(n);
            }
            reduce::sumsq_ranges(b, scratch.partials, scratch.ranges, tensor, 1, scratch.sums, tensor)?;
            let sums = scratch.sums.buffer(NAME)?;
            for (i, pw) in w.parts().iter().enumerate() {
                let n = pw.rows * row_len;
                if n == 0 {
                    continue;
                }
                let p = p0.u(N, n)?;
                let bufs = [
                    (1, &pw.buffer),
                    (2, &g.parts()[i].buffer),
                    (3, &v.parts()[i].buffer),
                    (8, sums),
                    (9, m_buf(i)),
                ];
                b.dispatch(kernel("af_apply_vector")?, p.bytes(), &bufs, super::grid256(b, n));
            }
        }
    }
    Ok(())
}
