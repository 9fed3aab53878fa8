//! Global gradient norm and clipping. [`GradNorm`] reduces the squared gradients of every
//! parameter on the GPU (kernels::reduce: deterministic per-chunk partials, per-tensor sums, the
//! global sum) and reads back ONE small buffer: the global and per-tensor sums of squares and
//! non-finite counts. The optimizers fold the clip factor into their kernels (no extra pass over
//! the gradients), and skip the step when the norm is not finite.

use super::OptimError;
use crate::kernels::reduce;
use crate::runtime::{Batch, Gpu};
use crate::tensor::{DType, Tensor};
use crate::train::Param;

/// Added to the norm before dividing, as `torch.nn.utils.clip_grad_norm_`.
pub const CLIP_EPS: f32 = 1e-6;

/// The gradient norm of one parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorGradStat {
    pub name: String,
    /// L2 norm of the finite elements of the gradient
    pub norm: f32,
    /// number of NaN / Inf elements
    pub nonfinite: u32,
}

/// What the optimizer needs to know about the accumulated gradients of a step.
#[derive(Clone, Debug, PartialEq)]
pub struct GradStats {
    /// global L2 norm over every parameter (infinite when the sum of squares overflows)
    pub norm: f32,
    /// false when any element is NaN / Inf or the norm overflowed: the step must be skipped
    pub finite: bool,
    /// per parameter, in the order given to [`GradNorm::new`] (empty from [`GradStats::from_norm`])
    pub tensors: Vec<TensorGradStat>,
}

impl GradStats {
    /// Stats from a norm computed elsewhere (finite iff `norm` is).
    pub fn from_norm(norm: f32) -> GradStats {
        GradStats { norm, finite: norm.is_finite(), tensors: Vec::new() }
    }

    /// The factor the gradients are multiplied by: min(1, max_norm / (norm + 1e-6)) as
    /// `torch.nn.utils.clip_grad_norm_`, 1 without clipping.
    pub fn clip_factor(&self, max_norm: Option<f32>) -> f32 {
        match max_norm {
            Some(max) => (max / (self.norm + CLIP_EPS)).min(1.0),
            None => 1.0,
        }
    }

    /// Names of the parameters whose gradient holds a NaN / Inf.
    pub fn nonfinite_tensors(&self) -> Vec<&str> {
        self.tensors.iter().filter(|t| t.nonfinite > 0).map(|t| t.name.as_str()).collect()
    }

    /// Why the step must be skipped, `None` when it may proceed.
    pub fn skip_reason(&self) -> Option<String> {
        if self.finite {
            return None;
        }
        let bad = self.nonfinite_tensors();
        Some(if bad.is_empty() {
            format!("gradient norm is not finite ({})", self.norm)
        } else {
            format!("non-finite gradient (NaN/Inf) in {}", bad.join(", "))
        })
    }
}

/// Buffers of the gradient-norm reduction for one fixed list of parameters (allocate once).
#[derive(Debug)]
pub struct GradNorm {
    names: Vec<String>,
    shapes: Vec<Vec<usize>>,
    /// U32 [2 * total partials]: per-chunk (sum of squares, non-finite count) pairs
    partials: Tensor,
    /// U32 [tensors, 2]: each tensor's [start, end) in `partials`
    ranges: Tensor,
    /// U32 [1 + tensors, 2]: pair 0 the global sum, pair 1 + t tensor t's
    stats: Tensor,
}

impl GradNorm {
    /// Plan the reduction for `params` (their gradients, every part).
    pub fn new(gpu: &Gpu, params: &[Param]) -> Result<GradNorm, OptimError> {
        let mut ranges = Vec::with_capacity(2 * params.len());
        let mut total = 0usize;
        for p in params {
            p.grad.expect_dtype(DType::F32)?;
            let n = reduce::tensor_partial_count(&p.grad);
            let word = |v: usize| {
                u32::try_from(v).map_err(|_| OptimError::Params(format!("{}: too many partial sums", p.name)))
            };
            ranges.push(word(total)?);
            ranges.push(word(total + n)?);
            total += n;
        }
        let partials = Tensor::zeros(gpu, "grad-norm partials", &[total.max(1), 2], DType::U32)?;
        let ranges = Tensor::from_u32(gpu, "grad-norm ranges", &[params.len().max(1), 2], &pad(ranges))?;
        let stats = Tensor::zeros(gpu, "grad-norm stats", &[1 + params.len(), 2], DType::U32)?;
        for t in [&partials, &ranges, &stats] {
            t.buffer("grad-norm")?;
        }
        Ok(GradNorm {
            names: params.iter().map(|p| p.name.clone()).collect(),
            shapes: params.iter().map(|p| p.grad.shape.clone()).collect(),
            partials,
            ranges,
            stats,
        })
    }

    fn check(&self, params: &[Param]) -> Result<(), OptimError> {
        super::check_params("grad norm", params, &self.names, &self.shapes)
    }

    /// Record the reduction into `b` (e.g. at the end of the backward batch); read the result
    /// with [`GradNorm::read`] after the batch is submitted.
    pub fn record(&self, b: &mut Batch<'_>, params: &[Param]) -> Result<(), OptimError> {
        self.check(params)?;
        let mut off = 0;
        for p in params {
            off += reduce::sumsq_partials(b, &p.grad, &self.partials, off)?;
        }
        reduce::sumsq_ranges(b, &self.partials, &self.ranges, 0, params.len(), &self.stats, 1)?;
        reduce::sumsq_total(b, &self.stats, params.len())?;
        Ok(())
    }

    /// Read back the stats buffer written by the last submitted [`GradNorm::record`].
    pub fn read(&self, gpu: &Gpu) -> Result<GradStats, OptimError> {
        let words = self.stats.to_u32(gpu)?;
        let pair = |i: usize| (f32::from_bits(words[2 * i]), words[2 * i + 1]);
        let (sum, bad) = pair(0);
        let tensors = self
            .names
            .iter()
            .enumerate()
            .map(|(t, name)| {
                let (s, n) = pair(1 + t);
                TensorGradStat { name: name.clone(), norm: s.sqrt(), nonfinite: n }
            })
            .collect();
        let norm = sum.sqrt();
        Ok(GradStats { norm, finite: bad == 0 && norm.is_finite(), tensors })
    }

    /// Record, submit and read: the stats of the gradients as they are now.
    pub fn compute(&self, gpu: &Gpu, params: &[Param]) -> Result<GradStats, OptimError> {
        let mut b = gpu.batch();
        self.record(&mut b, params)?;
        b.submit()?;
        self.read(gpu)
    }
}

/// An empty list still needs one (unused) pair to allocate.
fn pad(mut v: Vec<u32>) -> Vec<u32> {
    if v.is_empty() {
        v.extend([0, 0]);
    }
    v
}
