//! Decision diagnostics (SPEC section 4): regret and coverage curves, the exploration
//! diagnostics of Krishnamurthy et al. 2024 (suffix failure, MinFrac, GreedyFrac), the
//! knowing-doing and frequency-bias classifications, tic-tac-toe returns and summary statistics.
//!
//! Everything works over caller slices: a trajectory is a slice of actions (and of rewards where
//! needed), a curve is written into a caller-provided `&mut [f64]` of the trajectory's length
//! (entry t describes the first t + 1 steps unless said otherwise), and mismatched lengths are
//! [`crate::Error::ShapeMismatch`], never a panic.

mod correlation;
mod coverage;
mod exploration;
mod frequency;
mod games;
mod knowing_doing;
mod regret;
mod summary;

pub use correlation::pearson;
pub use coverage::coverage_curve;
pub use exploration::{greedy_frac, min_frac, min_frac_curve, suffix_failure, suffix_failure_curve};
pub use frequency::{FrequencyBias, FrequencyClass, classify_frequency};
pub use games::{GameOutcomes, average_return};
pub use knowing_doing::{
    ActionClass, KnowingDoing, classify_action, is_ucb_optimal, rationale_is_correct, stated_argmax,
};
pub use regret::{cumulative_regret, cumulative_regret_from_steps};
pub use summary::{MeanAccumulator, MeanCi, mean_ci95};

use crate::MAX_ARMS;
use crate::error::{Error, Result, check_count};

/// Checks an arm count (1..=MAX_ARMS) and that every action is one of its arms.
pub(crate) fn check_actions(arms: usize, actions: &[usize]) -> Result<()> {
    check_count("arms", arms, 1, MAX_ARMS)?;
    match actions.iter().find(|&&a| a >= arms) {
        Some(&action) => Err(Error::InvalidAction { action, num_actions: arms }),
        None => Ok(()),
    }
}

/// Checks that a curve buffer has the trajectory's length.
pub(crate) fn check_curve(out: &[f64], steps: usize) -> Result<()> {
    if out.len() != steps {
        return Err(Error::ShapeMismatch { what: "curve buffer", expected: steps, got: out.len() });
    }
    Ok(())
}
