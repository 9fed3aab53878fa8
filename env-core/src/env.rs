//! The common environment interface, in the spirit of Gymnasium: `reset(seed)` then `step(action)`
//! until the episode is terminated (a natural end, such as a won game) or truncated (the horizon).

use crate::error::Result;

/// What one step returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition<O, I> {
    /// The observation after the step.
    pub observation: O,
    /// The reward of the step.
    pub reward: f64,
    /// The episode reached a natural end (a finished game). Bandits never terminate.
    pub terminated: bool,
    /// The episode was cut by its horizon.
    pub truncated: bool,
    /// Environment-specific facts about the step (expected rewards, the opponent's move, ...).
    pub info: I,
}

impl<O, I> Transition<O, I> {
    /// `terminated || truncated`.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// A seeded, deterministic environment with a discrete action space.
pub trait Environment {
    /// What the agent sees.
    type Observation;
    /// Extra facts returned by every step.
    type Info;

    /// Starts a new episode. `seed` fixes every random draw of the episode (reward noise, the
    /// opponent's moves, the contexts shown); the same seed gives the same episode.
    fn reset(&mut self, seed: u64) -> Result<Self::Observation>;

    /// Applies `action`. Errors (and leaves the state unchanged) on an invalid action or when
    /// the episode is already over.
    fn step(&mut self, action: usize) -> Result<Transition<Self::Observation, Self::Info>>;

    /// Number of actions (valid actions are `0..num_actions()`).
    fn num_actions(&self) -> usize;

    /// Steps taken in the current episode.
    fn steps_taken(&self) -> usize;

    /// Whether the current episode has ended.
    fn is_done(&self) -> bool;
}
