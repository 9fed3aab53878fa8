//! The history every simple agent keeps: [`ArmStats`], absent until the first `reset`.

use crate::error::{Error, Result};
use crate::stats::ArmStats;

/// Arm statistics that exist only after `reset(arms)`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Tracker {
    stats: Option<ArmStats>,
}

impl Tracker {
    /// Starts over with `arms` arms (1..=MAX_ARMS).
    pub(crate) fn reset(&mut self, arms: usize) -> Result<()> {
        self.stats = Some(ArmStats::new(arms)?);
        Ok(())
    }

    /// The statistics, or [`Error::Empty`] before the first reset.
    pub(crate) fn stats(&self) -> Result<&ArmStats> {
        self.stats.as_ref().ok_or(NOT_RESET)
    }

    /// Records one observation (errors on an unknown arm or a non-finite reward).
    pub(crate) fn record(&mut self, arm: usize, reward: f64) -> Result<()> {
        self.stats.as_mut().ok_or(NOT_RESET)?.record(arm, reward)
    }
}

/// The error of using a policy before `reset`.
pub(crate) const NOT_RESET: Error = Error::Empty { what: "policy arms (call reset first)" };

/// Checks an observation for a policy with `arms` arms (0 = not reset yet).
pub(crate) fn check_observation(arms: usize, arm: usize, reward: f64) -> Result<()> {
    if arms == 0 {
        return Err(NOT_RESET);
    }
    if arm >= arms {
        return Err(Error::InvalidAction { action: arm, num_actions: arms });
    }
    if !reward.is_finite() {
        return Err(Error::NotFinite { name: "reward" });
    }
    Ok(())
}
