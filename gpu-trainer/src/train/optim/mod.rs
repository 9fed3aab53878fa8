//! Optimizers on the GPU (SPEC section 5: lr 1e-4, 100 warm-up steps, cosine decay to 1e-6,
//! AdaFactor or AdamW, gradient clip 1.0, batch accumulated).
//!
//! One optimizer step, as the training loop does it:
//!
//! ```ignore
//! let norm = GradNorm::new(gpu, params)?;                      // once
//! let mut opt = Optimizer::new(gpu, params, &OptimizerConfig::AdaFactor(Default::default()))?;
//! let sched = LrSchedule::spec(total_updates);
//! // ... micro-batches: forward + backward accumulate into Param::grad ...
//! let stats = norm.compute(gpu, params)?;                       // one small readback
//! let outcome = opt.step(gpu, params, sched.lr(update), &stats, Some(1.0))?;
//! zero_grads(gpu, params)?;                                     // also after a skipped step
//! ```
//!
//! - Gradient accumulation is the caller's: gradients add up in [`Param::grad`] over the
//!   micro-batches (scale the loss by 1 / micro-batches for a mean), and [`zero_grads`] clears them
//!   after the step.
//! - Clipping: global-norm, factor `min(1, max_norm / (norm + 1e-6))` (torch's
//!   `clip_grad_norm_`), folded into the optimizer kernels: the gradients themselves are not
//!   rewritten.
//! - A non-finite norm (NaN / Inf anywhere) skips the step: weights and optimizer state are
//!   untouched, the step counter does not advance, and [`StepOutcome::Skipped`] names the
//!   tensors. The gradients are left as they are: the caller decides (normally zero them, which
//!   drops that batch; torch's GradScaler does the same).
//! - Weight decay is decoupled and applies to the tensors [`DecayOn`] selects (default: every
//!   tensor of rank >= 2, i.e. not the norms).

pub mod adafactor;
pub mod adamw;
pub mod clip;
pub mod schedule;

pub use adafactor::{AdaFactor, AdaFactorConfig};
pub use adamw::{AdamW, AdamWConfig};
pub use clip::{GradNorm, GradStats, TensorGradStat};
pub use schedule::LrSchedule;

use thiserror::Error;

use crate::runtime::{Batch, Gpu, GpuError};
use crate::tensor::Tensor;
use crate::train::Param;
use crate::train::checkpoint::HostTensor;

/// Everything that can go wrong in an optimizer step or a state load.
#[derive(Debug, Error)]
pub enum OptimError {
    #[error(transparent)]
    Gpu(#[from] GpuError),
    /// the parameter list does not match the one the optimizer was built for, or a bad argument
    #[error("optimizer: {0}")]
    Params(String),
    /// a state tensor to load is missing, extra, or of the wrong shape
    #[error("optimizer state tensor {tensor:?}: {message}")]
    State { tensor: String, message: String },
}

/// Which parameters get (decoupled) weight decay.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum DecayOn {
    /// every parameter (torch's single param group)
    All,
    /// every parameter of rank >= 2: the projections and the embedding; not the norm weights
    /// (HF's usual "no decay for LayerNorm weights and biases"; Gemma has no biases)
    #[default]
    Matrices,
    /// exactly these HuggingFace names
    Names(Vec<String>),
}

impl DecayOn {
    /// Whether the parameter `name` of shape `shape` is decayed.
    pub fn applies(&self, name: &str, shape: &[usize]) -> bool {
        match self {
            DecayOn::All => true,
            DecayOn::Matrices => shape.len() >= 2,
            DecayOn::Names(names) => names.iter().any(|n| n == name),
        }
    }
}

/// What [`Optimizer::step`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum StepOutcome {
    /// the weights were updated; `step` is the new step count (1 after the first update)
    Applied { step: u64, lr: f32, grad_norm: f32, clip_factor: f32 },
    /// nothing changed (non-finite gradients); the reason names the tensors
    Skipped { reason: String },
}

/// The optimizer's state on the host, for checkpoints: its kind ("adamw" / "adafactor"), the
/// step count, and every state tensor named "<param name>.<slot>".
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState {
    pub kind: String,
    pub step: u64,
    pub tensors: Vec<HostTensor>,
}

/// Either optimizer's settings.
#[derive(Clone, Debug, PartialEq)]
pub enum OptimizerConfig {
    AdamW(AdamWConfig),
    AdaFactor(AdaFactorConfig),
}

/// AdamW or AdaFactor over a fixed list of parameters.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one optimizer per training run: its size does not matter
pub enum Optimizer {
    AdamW(AdamW),
    AdaFactor(AdaFactor),
}

impl Optimizer {
    /// Allocate the (zero) state for `params`; later steps must pass the same list.
    pub fn new(gpu: &Gpu, params: &[Param], config: &OptimizerConfig) -> Result<Optimizer, OptimError> {
        Ok(match config {
            OptimizerConfig::AdamW(c) => Optimizer::AdamW(AdamW::new(gpu, params, c.clone())?),
            OptimizerConfig::AdaFactor(c) => Optimizer::AdaFactor(AdaFactor::new(gpu, params, c.clone())?),
        })
    }

    /// One update with learning rate `lr`, clipping the gradients to `max_norm` (global norm from
    /// `stats`); skipped when `stats` is not finite. One submit, no readback.
    pub fn step(
        &mut self,
        gpu: &Gpu,
        params: &[Param],
        lr: f32,
        stats: &GradStats,
        max_norm: Option<f32>,
    ) -> Result<StepOutcome, OptimError> {
        match self {
            Optimizer::AdamW(o) => o.step(gpu, params, lr, stats, max_norm),
            Optimizer::AdaFactor(o) => o.step(gpu, params, lr, stats, max_norm),
        }
    }

    /// The parameter `name` learns at `scale` times the step's learning rate from now on (a
    /// value head on a policy's schedule). Not part of the state: set it again after a resume.
    pub fn set_lr_scale(&mut self, name: &str, scale: f32) -> Result<(), OptimError> {
        let found = match self {
            Optimizer::AdamW(o) => o.set_lr_scale(name, scale),
            Optimizer::AdaFactor(o) => o.set_lr_scale(name, scale),
        };
        if !(found && scale.is_finite() && scale >= 0.0) {
            return Err(OptimError::State {
                tensor: name.to_string(),
                message: format!("no such parameter, or a learning-rate scale {scale} that is not >= 0"),
            });
        }
        Ok(())
    }

    /// Updates applied so far (skipped steps do not count).
    pub fn steps(&self) -> u64 {
        match self {
            Optimizer::AdamW(o) => o.steps(),
            Optimizer::AdaFactor(o) => o.steps(),
        }
    }

    /// "adamw" or "adafactor".
    pub fn kind(&self) -> &'static str {
        match self {
            Optimizer::AdamW(_) => adamw::KIND,
            Optimizer::AdaFactor(_) => adafactor::KIND,
        }
    }

    /// Every state tensor, named "<param name>.<slot>" (torch's slot names: exp_avg,
    /// exp_avg_sq, exp_avg_sq_row, exp_avg_sq_col).
    pub fn state_tensors(&self) -> Vec<(String, &Tensor)> {
        match self {
            Optimizer::AdamW(o) => o.state_tensors(),
            Optimizer::AdaFactor(o) => o.state_tensors(),
        }
    }

    /// Download the state (for a checkpoint).
    pub fn export_state(&self, gpu: &Gpu) -> Result<OptimizerState, OptimError> {
        export(gpu, self.kind(), self.steps(), self.state_tensors())
    }

    /// Replace the state with `state` (from a checkpoint): same kind, exactly the same tensor
    /// names and shapes; the step count is restored too.
    pub fn load_state(&mut self, gpu: &Gpu, state: &OptimizerState) -> Result<(), OptimError> {
        if state.kind != self.kind() {
            return Err(OptimError::State {
                tensor: String::new(),
                message: format!("state is for {:?}, this optimizer is {:?}", state.kind, self.kind()),
            });
        }
        upload_state(gpu, &self.state_tensors(), &state.tensors)?;
        match self {
            Optimizer::AdamW(o) => o.set_steps(state.step),
            Optimizer::AdaFactor(o) => o.set_steps(state.step),
        }
        Ok(())
    }
}

/// Record zeroing every gradient of `params` into `b`.
pub fn record_zero_grads(b: &mut Batch<'_>, params: &[Param]) {
    for p in params {
        b.clear_tensor(&p.grad);
    }
}

/// Zero every gradient of `params` (one submit).
pub fn zero_grads(gpu: &Gpu, params: &[Param]) -> Result<(), GpuError> {
    let mut b = gpu.batch();
    record_zero_grads(&mut b, params);
    b.submit()
}

/// Error unless `params` are `names` with `shapes`, in order.
pub(crate) fn check_params(
    what: &str,
    params: &[Param],
    names: &[String],
    shapes: &[Vec<usize>],
) -> Result<(), OptimError> {
    if params.len() != names.len() {
        return Err(OptimError::Params(format!(
            "{what}: {} parameters given, built for {}",
            params.len(),
            names.len()
        )));
    }
    for ((p, name), shape) in params.iter().zip(names).zip(shapes) {
        if &p.name != name || &p.value.shape != shape || &p.grad.shape != shape {
            return Err(OptimError::Params(format!(
                "{what}: parameter {:?} {:?} (grad {:?}) where {name:?} {shape:?} was expected",
                p.name, p.value.shape, p.grad.shape
            )));
        }
    }
    Ok(())
}

/// The clip factor of a step, or the reason to skip it; errors on a bad lr / max_norm.
pub(crate) fn clip_or_skip(
    stats: &GradStats,
    lr: f32,
    max_norm: Option<f32>,
) -> Result<Result<f32, String>, OptimError> {
    if !(lr.is_finite() && lr >= 0.0) {
        return Err(OptimError::Params(format!("learning rate {lr} must be finite and >= 0")));
    }
    if let Some(m) = max_norm
        && !(m.is_finite() && m > 0.0)
    {
        return Err(OptimError::Params(format!("max_norm {m} must be finite and > 0")));
    }
    Ok(match stats.skip_reason() {
        Some(reason) => Err(reason),
        None => Ok(stats.clip_factor(max_norm)),
    })
}

fn export(
    gpu: &Gpu,
    kind: &str,
    step: u64,
    tensors: Vec<(String, &Tensor)>,
) -> Result<OptimizerState, OptimError> {
    let mut out = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        out.push(HostTensor { name, shape: t.shape.clone(), data: t.to_f32(gpu)? });
    }
    Ok(OptimizerState { kind: kind.to_string(), step, tensors: out })
}

fn upload_state(gpu: &Gpu, slots: &[(String, &Tensor)], host: &[HostTensor]) -> Result<(), OptimError> {
    let state_err = |tensor: &str, message: String| OptimError::State { tensor: tensor.to_string(), message };
    for h in host {
        if !slots.iter().any(|(n, _)| n == &h.name) {
            return Err(state_err(
                &h.name,
                "is not a state tensor of this optimizer and parameter list".into(),
            ));
        }
    }
    // check everything before writing anything
    let mut pairs = Vec::with_capacity(slots.len());
    for (name, t) in slots {
        let Some(h) = host.iter().find(|h| &h.name == name) else {
            return Err(state_err(name, "missing".into()));
        };
        if h.shape != t.shape || h.data.len() != t.numel() {
            return Err(state_err(
                name,
                format!("shape {:?} ({} values) where {:?} was expected", h.shape, h.data.len(), t.shape),
            ));
        }
        pairs.push((h, *t));
    }
    for (h, t) in pairs {
        t.write_bytes(gpu, bytemuck::cast_slice(&h.data));
    }
    Ok(())
}
