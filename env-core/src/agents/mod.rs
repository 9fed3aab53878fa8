//! Classic bandit agents (the baselines an LLM agent is compared with), the exploration
//! mechanisms of SPEC section 6 as wrappers around any agent, reward shaping, and an episode
//! runner.
//!
//! Every agent implements the object-safe [`BanditPolicy`]: `reset(arms)`, then alternately
//! `select(rng)` and `update(arm, reward)`. All randomness comes from the [`Rng`] passed to
//! `select`, so a policy's trajectory is fixed by the seed of that generator (see
//! [`run_bandit_episode`]).
//!
//! Tie-breaking is deterministic everywhere: among equal values the lowest arm index wins, and
//! untried arms are played in increasing index order.

mod epsilon_greedy;
mod greedy;
mod random;
mod runner;
mod shaping;
mod thompson;
mod tracker;
mod ucb;
mod wrappers;

pub use epsilon_greedy::EpsilonGreedy;
pub use greedy::Greedy;
pub use random::UniformRandom;
pub use runner::{POLICY_STREAM, run_bandit_episode};
pub use shaping::{
    INVALID_ACTION_PENALTY, RewardShaping, UNTRIED_ARM_BONUS, invalid_action_penalty, untried_arm_bonus,
};
pub use thompson::{BetaThompson, GaussianThompson};
pub use ucb::Ucb;
pub use wrappers::{EpsilonExplore, Exploration, ExplorationGate, TryAll, epsilon_choice, first_untried};

use crate::error::Result;
use crate::rng::Rng;

/// A bandit agent: picks an arm, then learns from the reward it got.
///
/// The trait is object safe (`&mut dyn BanditPolicy` works). `select` and `update` return
/// [`crate::Error::Empty`] before the first `reset`.
pub trait BanditPolicy {
    /// Forget everything; prepare for `arms` arms (1..=MAX_ARMS).
    fn reset(&mut self, arms: usize) -> Result<()>;
    /// Choose the next arm.
    fn select(&mut self, rng: &mut Rng) -> Result<usize>;
    /// Observe the reward of `arm`.
    fn update(&mut self, arm: usize, reward: f64) -> Result<()>;
    /// Short name used in reports ("ucb", "thompson", ...).
    fn name(&self) -> &'static str;
}

impl<P: BanditPolicy + ?Sized> BanditPolicy for &mut P {
    fn reset(&mut self, arms: usize) -> Result<()> {
        (**self).reset(arms)
    }
    fn select(&mut self, rng: &mut Rng) -> Result<usize> {
        (**self).select(rng)
    }
    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        (**self).update(arm, reward)
    }
    fn name(&self) -> &'static str {
        (**self).name()
    }
}
