//! The GPU learner: `gpu_trainer`'s training model and optimizer behind [`Learner`].

use anyhow::{Result, bail};

use crate::train::run::SftOutcome;
use crate::train::settings::SftSettings;

/// Runs `greedy train sft` on the GPU.
pub fn run_sft(_settings: &SftSettings) -> Result<SftOutcome> {
    bail!("training on the GPU is not wired yet (waiting for gpu_trainer::train::model)")
}
