//! [`Task`]: one episode of an environment as the LLM agent meets it (render the prompt, read an
//! answer, play the action, report the step), so that ONE rollout loop ([`super::rollout`])
//! serves the bandit, the contextual bandit and tic-tac-toe.

use anyhow::Result;
use env_core::agents::Exploration;

use crate::envs::EpisodeRecord;

/// What happens at a step before the model is asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// The model answers `prompt`.
    Ask {
        /// The prompt text (chat turns included).
        prompt: String,
    },
    /// An exploration mechanism plays `action` without the model.
    Forced {
        /// The mechanism.
        by: Exploration,
        /// The arm it plays.
        action: usize,
        /// The prompt the model would have read (RL trains the rationale as its answer).
        prompt: String,
        /// The fixed-template rationale ending in `ACTION=X` (SPEC section 6).
        rationale: String,
        /// What the episode's log shows for the step.
        logged: String,
    },
}

/// The environment's side of a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// The environment's reward.
    pub reward: f64,
    /// Bandits: the step's pseudo-regret (best expected reward minus the action's).
    pub regret: Option<f64>,
    /// The action had not been played before in the episode (bandits; the exploration bonus).
    pub new_action: bool,
    /// Bandits: the fraction of arms tried after this step.
    pub coverage: Option<f64>,
}

/// One episode the agent plays.
pub trait Task {
    /// The episode's index in its run (its RNG streams derive from it).
    fn index(&self) -> u64;
    /// Is the episode over?
    fn done(&self) -> bool;
    /// Most steps an episode can take (the loop fails past it: a game that never ends).
    fn max_steps(&self) -> usize;
    /// Prepares step `t`.
    fn turn(&mut self, t: usize) -> Result<Turn>;
    /// The action an answer names, if it is valid at this step (None: invalid).
    fn parse(&self, answer: &str) -> Option<usize>;
    /// The action played for an invalid answer: uniform over the valid ones, from the episode's
    /// own seeded stream.
    fn fallback(&mut self) -> usize;
    /// Plays `action`.
    fn step(&mut self, action: usize) -> Result<Outcome>;
    /// The measured episode (the rollout adds the answers).
    fn finish(self: Box<Self>, agent: &str) -> Result<EpisodeRecord>;
}
