//! The interface of contextual-bandit baselines, and the uniform random baseline.

use crate::MAX_ARMS;
use crate::error::{Error, Result, check_count};
use crate::rng::Rng;

/// A contextual-bandit policy: sees a context vector, picks an arm, learns from the reward.
/// Object-safe, so runners take `&mut dyn ContextualPolicy`.
pub trait ContextualPolicy {
    /// Forgets everything and prepares for `arms` arms and contexts of length `dim`.
    fn reset(&mut self, arms: usize, dim: usize) -> Result<()>;

    /// Picks an arm for `context` (length `dim`); random tie-breaking draws from `rng`.
    fn select(&mut self, context: &[f64], rng: &mut Rng) -> Result<usize>;

    /// Learns that `arm` earned `reward` in `context`.
    fn update(&mut self, arm: usize, context: &[f64], reward: f64) -> Result<()>;

    /// Short name for reports (`linucb`, `random`).
    fn name(&self) -> &'static str;
}

/// Picks an arm uniformly at random every step, ignoring the context.
#[derive(Debug, Clone, Copy, Default)]
pub struct UniformRandom {
    arms: usize,
    dim: usize,
}

impl UniformRandom {
    /// A random policy; call [`ContextualPolicy::reset`] before use.
    pub fn new() -> Self {
        UniformRandom { arms: 0, dim: 0 }
    }
}

impl ContextualPolicy for UniformRandom {
    fn reset(&mut self, arms: usize, dim: usize) -> Result<()> {
        check_count("arms", arms, 1, MAX_ARMS)?;
        self.arms = arms;
        self.dim = dim;
        Ok(())
    }

    fn select(&mut self, context: &[f64], rng: &mut Rng) -> Result<usize> {
        if self.arms == 0 {
            return Err(Error::Empty { what: "arms (call reset first)" });
        }
        check_context(context, self.dim)?;
        Ok(rng.below(self.arms))
    }

    fn update(&mut self, arm: usize, context: &[f64], reward: f64) -> Result<()> {
        check_arm(arm, self.arms)?;
        check_context(context, self.dim)?;
        check_reward(reward)
    }

    fn name(&self) -> &'static str {
        "random"
    }
}

pub(crate) fn check_context(context: &[f64], dim: usize) -> Result<()> {
    if context.len() != dim {
        return Err(Error::ShapeMismatch { what: "context", expected: dim, got: context.len() });
    }
    if !context.iter().all(|x| x.is_finite()) {
        return Err(Error::NotFinite { name: "context" });
    }
    Ok(())
}

pub(crate) fn check_arm(arm: usize, arms: usize) -> Result<()> {
    if arm >= arms {
        return Err(Error::InvalidAction { action: arm, num_actions: arms });
    }
    Ok(())
}

pub(crate) fn check_reward(reward: f64) -> Result<()> {
    if !reward.is_finite() {
        return Err(Error::NotFinite { name: "reward" });
    }
    Ok(())
}
