//! AdamW (torch.optim.AdamW semantics): first and second moments in f32 per parameter, bias
//! corrections, eps added after the square root of the corrected second moment, decoupled weight
//! decay `w *= 1 - lr * weight_decay` on the tensors [`DecayOn`] selects.

use super::{DecayOn, GradStats, OptimError, StepOutcome, check_params, clip_or_skip};
use crate::kernels::adamw::{self as kernel, AdamWScalars};
use crate::runtime::Gpu;
use crate::tensor::{DType, Tensor};
use crate::train::Param;

/// The kind name in checkpoints.
pub const KIND: &str = "adamw";

/// AdamW settings (defaults: torch's betas and eps; weight decay 0 as HF's TrainingArguments).
#[derive(Clone, Debug, PartialEq)]
pub struct AdamWConfig {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub decay_on: DecayOn,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, decay_on: DecayOn::Matrices }
    }
}

impl AdamWConfig {
    fn validate(&self) -> Result<(), OptimError> {
        let ok = (0.0..1.0).contains(&self.beta1)
            && (0.0..1.0).contains(&self.beta2)
            && self.eps.is_finite()
            && self.eps >= 0.0
            && self.weight_decay.is_finite()
            && self.weight_decay >= 0.0;
        if !ok {
            return Err(OptimError::Params(format!(
                "adamw: bad settings {self:?} (0 <= beta < 1, eps >= 0, weight_decay >= 0)"
            )));
        }
        Ok(())
    }
}

/// The state of one parameter.
#[derive(Debug)]
struct Slot {
    decay: bool,
    /// this parameter's learning rate is lr * lr_scale (1 unless set)
    lr_scale: f32,
    /// first moment, f32, the parameter's shape and parts
    exp_avg: Tensor,
    /// second moment, f32, the parameter's shape and parts
    exp_avg_sq: Tensor,
}

/// AdamW over a fixed list of parameters.
#[derive(Debug)]
pub struct AdamW {
    config: AdamWConfig,
    step: u64,
    names: Vec<String>,
    shapes: Vec<Vec<usize>>,
    slots: Vec<Slot>,
}

impl AdamW {
    /// Zero moments for every parameter.
    pub fn new(gpu: &Gpu, params: &[Param], config: AdamWConfig) -> Result<AdamW, OptimError> {
        config.validate()?;
        let mut slots = Vec::with_capacity(params.len());
        for p in params {
            p.value.expect_dtype(DType::F32)?;
            let shape = &p.value.shape;
            slots.push(Slot {
                lr_scale: 1.0,
                decay: config.decay_on.applies(&p.name, shape),
                exp_avg: Tensor::zeros(gpu, &format!("{}.exp_avg", p.name), shape, DType::F32)?,
                exp_avg_sq: Tensor::zeros(gpu, &format!("{}.exp_avg_sq", p.name), shape, DType::F32)?,
            });
        }
        Ok(AdamW {
            config,
            step: 0,
            names: params.iter().map(|p| p.name.clone()).collect(),
            shapes: params.iter().map(|p| p.value.shape.clone()).collect(),
            slots,
        })
    }

    /// The settings.
    pub fn config(&self) -> &AdamWConfig {
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

    /// "<param>.exp_avg", "<param>.exp_avg_sq" for every parameter, in order.
    pub fn state_tensors(&self) -> Vec<(String, &Tensor)> {
        self.slots
            .iter()
            .flat_map(|s| [(s.exp_avg.name.clone(), &s.exp_avg), (s.exp_avg_sq.name.clone(), &s.exp_avg_sq)])
            .collect()
    }

    /// One AdamW update (see [`super::Optimizer::step`]).
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
        let mut b = gpu.batch();
        for (p, s) in params.iter().zip(&self.slots) {
            let wd = if s.decay { c.weight_decay } else { 0.0 };
            let scalars = AdamWScalars::new(lr * s.lr_scale, c.beta1, c.beta2, c.eps, wd, t, clip);
            kernel::step(&mut b, &p.value, &p.grad, &s.exp_avg, &s.exp_avg_sq, &scalars)?;
        }
        b.submit()?;
        self.step = t;
        Ok(StepOutcome::Applied { step: t, lr, grad_norm: stats.norm, clip_factor: clip })
    }
}
