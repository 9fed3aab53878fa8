//! AdaFactor (Shazeer & Stern 2018), as transformers' `Adafactor` with scale_parameter=False,
//! relative_step=False, warmup_init=False and the lr given by the schedule: a factored second
//! moment for tensors of rank >= 2 (running means of the rows and of the columns of each
//! trailing R x C matrix), the full second moment for the others, beta2_t = 1 - t^-0.8, eps1 =
//! 1e-30 added to g^2, the update divided by max(1, RMS(update) / 1.0), no first moment unless
//! `beta1` is set, optional decoupled weight decay `w -= lr * weight_decay * w`.
//!
//! transformers' second eps (1e-3) only scales the lr by the parameter RMS when
//! scale_parameter=True, so it has no effect here; it is kept in the config for completeness.

use super::{DecayOn, GradStats, OptimError, StepOutcome, check_params, clip_or_skip};
use crate::kernels::adafactor::{self as kernel, AdaFactorScalars, Scratch, SecondMoment};
use crate::kernels::reduce;
use crate::runtime::Gpu;
use crate::tensor::{DType, Tensor};
use crate::train::Param;

/// The kind name in checkpoints.
pub const KIND: &str = "adafactor";

/// AdaFactor settings; the defaults are transformers' (with relative_step and scale_parameter
/// off), weight decay on the matrices only when set.
#[derive(Clone, Debug, PartialEq)]
pub struct AdaFactorConfig {
    /// added to g^2 (transformers' eps[0])
    pub eps1: f32,
    /// transformers' eps[1]: unused without scale_parameter (kept for the record)
    pub eps2: f32,
    /// the update is divided by max(1, RMS(update) / clip_threshold)
    pub clip_threshold: f32,
    /// beta2_t = 1 - t^decay_rate
    pub decay_rate: f32,
    /// first-moment decay; None = no first moment (the paper's memory-saving choice)
    pub beta1: Option<f32>,
    pub weight_decay: f32,
    pub decay_on: DecayOn,
}

impl Default for AdaFactorConfig {
    fn default() -> Self {
        AdaFactorConfig {
            eps1: 1e-30,
            eps2: 1e-3,
            clip_threshold: 1.0,
            decay_rate: -0.8,
            beta1: None,
            weight_decay: 0.0,
            decay_on: DecayOn::Matrices,
        }
    }
}

impl AdaFactorConfig {
    fn validate(&self) -> Result<(), OptimError> {
        let ok = self.eps1.is_finite()
            && self.eps1 > 0.0
            && self.clip_threshold.is_finite()
            && self.clip_threshold > 0.0
            && self.decay_rate.is_finite()
            && self.decay_rate < 0.0
            && self.beta1.is_none_or(|b| (0.0..1.0).contains(&b))
            && self.weight_decay.is_finite()
            && self.weight_decay >= 0.0;
        if !ok {
            return Err(OptimError::Params(format!(
                "adafactor: bad settings {self:?} (eps1 > 0, clip_threshold > 0, decay_rate < 0, 0 <= beta1 < 1, weight_decay >= 0)"
            )));
        }
        Ok(())
    }
}

/// The second moment of one parameter.
#[derive(Debug)]
enum Second {
    /// rank >= 2: f32 shape[..-1] (row means) and shape[..-2] + [C] (column means), one binding each
    Factored { row: Tensor, col: Tensor, block_rows: usize },
    /// rank < 2: f32, the parameter's shape and parts
    Vector { v: Tensor },
}

#[derive(Debug)]
struct Slot {
    decay: bool,
    /// this parameter's learning rate is lr * lr_scale (1 unless set)
    lr_scale: f32,
    second: Second,
    /// first moment when beta1 is set, f32, the parameter's shape and parts
    exp_avg: Option<Tensor>,
}

/// AdaFactor over a fixed list of parameters.
#[derive(Debug)]
pub struct AdaFactor {
    config: AdaFactorConfig,
    step: u64,
    names: Vec<String>,
    shapes: Vec<Vec<usize>>,
    slots: Vec<Slot>,
    /// F32: column partials of the largest factored tensor
    col_partials: Tensor,
    /// F32: row means, one per matrix of the largest factored tensor
    row_mean: Tensor,
    /// U32 pairs: partial sums of squared updates of the largest tensor
    partials: Tensor,
    /// U32 [tensors, 2]: (0, partial count) per tensor
    ranges: Tensor,
    /// U32 [tensors, 2]: each tensor's sum of squared updates
    sums: Tensor,
    /// F32 [4]: bound as the first moment when there is none
    dummy: Tensor,
}

impl AdaFactor {
    /// Zero state for every parameter, and the scratch buffers of a step.
    pub fn new(gpu: &Gpu, params: &[Param], config: AdaFactorConfig) -> Result<AdaFactor, OptimError> {
        config.validate()?;
        let mut slots = Vec::with_capacity(params.len());
        let (mut cp_len, mut rm_len, mut part_len) = (1usize, 1usize, 1usize);
        let mut ranges = Vec::with_capacity(2 * params.len());
        for p in params {
            p.value.expect_dtype(DType::F32)?;
            let shape = &p.value.shape;
            let second = if shape.len() >= 2 {
                let (b, _, c) = kernel::matrices(shape);
                let block_rows = kernel::block_rows_for(&p.value, gpu.max_binding());
                cp_len = cp_len.max(kernel::col_blocks(&p.value, block_rows) * c);
                rm_len = rm_len.max(b);
                let n = shape.len();
                let mut col_shape = shape[..n - 2].to_vec();
                col_shape.push(c);
                let row =
                    Tensor::zeros(gpu, &format!("{}.exp_avg_sq_row", p.name), &shape[..n - 1], DType::F32)?;
                let col = Tensor::zeros(gpu, &format!("{}.exp_avg_sq_col", p.name), &col_shape, DType::F32)?;
                for t in [&row, &col] {
                    t.buffer("adafactor (row / column state must fit one binding)")?;
                }
                Second::Factored { row, col, block_rows }
            } else {
                Second::Vector {
                    v: Tensor::zeros(gpu, &format!("{}.exp_avg_sq", p.name), shape, DType::F32)?,
                }
            };
            let exp_avg = match config.beta1 {
                Some(_) => Some(Tensor::zeros(gpu, &format!("{}.exp_avg", p.name), shape, DType::F32)?),
                None => None,
            };
            let pc = reduce::tensor_partial_count(&p.value);
            part_len = part_len.max(pc);
            ranges.push(0u32);
            ranges.push(u32::try_from(pc).map_err(|_| OptimError::Params(format!("{}: too large", p.name)))?);
            slots.push(Slot {
                lr_scale: 1.0,
                decay: config.decay_on.applies(&p.name, shape),
                second,
                exp_avg,
            });
        }
        if ranges.is_empty() {
            ranges.extend([0, 0]);
        }
        let n = params.len().max(1);
        let opt = AdaFactor {
            step: 0,
            names: params.iter().map(|p| p.name.clone()).collect(),
            shapes: params.iter().map(|p| p.value.shape.clone()).collect(),
            slots,
            col_partials: Tensor::zeros(gpu, "adafactor column partials", &[cp_len], DType::F32)?,
            row_mean: Tensor::zeros(gpu, "adafactor row means", &[rm_len], DType::F32)?,
            partials: Tensor::zeros(gpu, "adafactor update partials", &[part_len, 2], DType::U32)?,
            ranges: Tensor::from_u32(gpu, "adafactor ranges", &[n, 2], &ranges)?,
            sums: Tensor::zeros(gpu, "adafactor update sums", &[n, 2], DType::U32)?,
            dummy: Tensor::zeros(gpu, "adafactor no first moment", &[4], DType::F32)?,
            config,
        };
        for t in [&opt.col_partials, &opt.row_mean, &opt.partials, &opt.ranges, &opt.sums] {
            t.buffer("adafactor scratch")?;
        }
        Ok(opt)
    }

    /// The settings.
    pub fn config(&self) -> &AdaFactorConfig {
        &self.config
    }

    /// Updates applied so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    pub(crate) fn set_lr_scale(&mut self, name: &str, scale: f32) -> bool {
        match self.names.iter().position(|n| n == name) {
            Some(i) => {
                self.slots[i].lr_scale = scale;
                true
            }
            None => false,
        }
    }

    pub(crate) fn set_steps(&mut self, step: u64) {
        self.step = step;
    }

    /// Per parameter, in order: "<param>.exp_avg" (with beta1), then "<param>.exp_avg_sq_row" and
    /// "<param>.exp_avg_sq_col" (rank >= 2) or "<param>.exp_avg_sq".
    pub fn state_tensors(&self) -> Vec<(String, &Tensor)> {
        let mut out = Vec::new();
        for s in &self.slots {
            if let Some(m) = &s.exp_avg {
                out.push((m.name.clone(), m));
            }
            match &s.second {
                Second::Factored { row, col, .. } => {
                    out.push((row.name.clone(), row));
                    out.push((col.name.clone(), col));
                }
                Second::Vector { v } => out.push((v.name.clone(), v)),
            }
        }
        out
    }

    /// One AdaFactor update (see [`super::Optimizer::step`]).
    pub fn step(
        &mut self,
        gpu: &Gpu,
        params: &[Param],
        lr: f32,
        stats: &GradStats,
        max_norm: Option<f32>,
    ) -> Result<StepOutcome, OptimError> {
        check_params(KIND, params, &self.names, &self.shapes)?;
        let clip = match clip_or_skip(stats, lr, max_norm)? {
            Ok(clip) => clip,
            Err(reason) => return Ok(StepOutcome::Skipped { reason }),
        };
        let t = self.step + 1;
        let c = &self.config;
        let scratch = Scratch {
            col_partials: &self.col_partials,
            row_mean: &self.row_mean,
            partials: &self.partials,
            ranges: &self.ranges,
            sums: &self.sums,
            dummy: &self.dummy,
        };
        let mut b = gpu.batch();
        for (i, (p, s)) in params.iter().zip(&self.slots).enumerate() {
            let scalars = AdaFactorScalars {
                lr: lr * s.lr_scale,
                beta2t: AdaFactorScalars::beta2t(t, c.decay_rate),
                eps1: c.eps1,
                beta1: c.beta1,
                weight_decay: if s.decay { c.weight_decay } else { 0.0 },
                clip_threshold: c.clip_threshold,
                clip,
            };
            let (second, block_rows) = match &s.second {
                Second::Factored { row, col, block_rows } => {
                    (SecondMoment::Factored { row, col }, *block_rows)
                }
                Second::Vector { v } => (SecondMoment::Vector { v }, 1),
            };
            kernel::step(
                &mut b,
                &p.value,
                &p.grad,
                second,
                s.exp_avg.as_ref(),
                &scratch,
                i,
                block_rows,
                &scalars,
            )?;
        }
        b.submit()?;
        self.step = t;
        Ok(StepOutcome::Applied { step: t, lr, grad_norm: stats.norm, clip_factor: clip })
    }
}
