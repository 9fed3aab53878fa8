//! [`StepRecord`]: one step of one episode as RL fine-tuning learns from it.

use env_core::agents::Exploration;

/// One step of the LLM agent: what it read, what it wrote (token ids and the log-probs they were
/// sampled with), what was played and what the environment gave back.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    /// The step (0-based).
    pub t: usize,
    /// The prompt text the completion answers (the correction prompt under self-correction).
    pub prompt: String,
    /// Its token ids as the model read them (BOS first); empty for a forced step (the learner
    /// tokenizes the prompt and the rationale).
    pub prompt_ids: Vec<u32>,
    /// The completion's token ids (the stop token included); empty for a forced step.
    pub completion_ids: Vec<u32>,
    /// log p of each completion token under the policy that sampled it; empty for a forced step.
    pub logprobs: Vec<f32>,
    /// The completion's text (a forced step: its template rationale).
    pub text: String,
    /// Per completion token, the policy's entropy when the agent records it
    /// ([`super::AgentSettings::entropy`]); empty otherwise and for forced steps.
    pub entropies: Vec<f32>,
    /// A stop token ended the completion (false: the budget cut it).
    pub stopped: bool,
    /// The action the answer named (None: invalid).
    pub action: Option<usize>,
    /// The action played (a seeded random one for an invalid answer).
    pub played: usize,
    /// The exploration mechanism that took the step, if one did.
    pub forced: Option<Exploration>,
    /// The environment's reward.
    pub reward: f64,
    /// Bandits: the step's pseudo-regret.
    pub regret: Option<f64>,
    /// The played action had not been played before in the episode.
    pub new_action: bool,
    /// Bandits: the fraction of arms tried after the step.
    pub coverage: Option<f64>,
}

impl StepRecord {
    /// Was the answer valid (or the step forced)?
    pub fn valid(&self) -> bool {
        self.forced.is_some() || self.action.is_some()
    }
}
