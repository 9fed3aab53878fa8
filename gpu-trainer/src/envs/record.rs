//! One finished episode, as `greedy eval` writes it to `episodes.jsonl`.

use serde::{Deserialize, Serialize};

/// Everything measured in one episode of one agent. Bandit-only fields are absent for
/// tic-tac-toe and vice versa. Read back (`greedy merge`) it is the record that was written:
/// every number bit for bit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpisodeRecord {
    /// Agent name (`ucb`, `try-all:greedy`, ...).
    pub agent: String,
    /// Environment (`mab`, `cb`, `ttt`).
    pub env: String,
    /// Episode index within the run.
    pub episode: u64,
    /// Seed of the scenario: `derive_seed(seed, episode)`.
    pub scenario_seed: u64,
    /// Seed of the episode's environment randomness.
    pub episode_seed: u64,
    /// The agent's actions (arm indices; board positions 0..=8 for tic-tac-toe).
    pub actions: Vec<usize>,
    /// Rewards per step.
    pub rewards: Vec<f64>,
    /// Sum of the rewards (tic-tac-toe: +1 win, 0 draw, -1 loss).
    #[serde(rename = "return")]
    pub return_: f64,
    /// Bandits: expected regret of each step (pseudo-regret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regret: Option<Vec<f64>>,
    /// Bandits: cumulative regret after each step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cumulative_regret: Option<Vec<f64>>,
    /// Bandits: cumulative regret at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_regret: Option<f64>,
    /// Bandits: fraction of arms tried after each step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage_curve: Option<Vec<f64>>,
    /// Bandits: fraction of arms tried at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
    /// MAB: the best arm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_arm: Option<usize>,
    /// MAB: the best arm is never played in the second half of the episode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suffix_failure: Option<bool>,
    /// MAB: pulls of the least-pulled arm relative to an even share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_frac: Option<f64>,
    /// MAB: fraction of steps that played a greedy arm (best mean among tried arms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greedy_frac: Option<f64>,
    /// Tic-tac-toe: `win`, `draw` or `loss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// LLM agent: answers judged invalid (a random action was played instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_answers: Option<usize>,
    /// LLM agent: the model's answer at each step (decoded, possibly truncated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<Vec<String>>,
    /// LLM agent with self-correction: the answer before the check, per step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_answers: Option<Vec<String>>,
    /// LLM agent with self-correction: answers (samples) whose action the check changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_by_correction: Option<usize>,
    /// LLM agent with self-consistency: the action of every sample per step (null = invalid;
    /// empty for a step an exploration wrapper decided).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_actions: Option<Vec<Vec<Option<usize>>>>,
    /// LLM agent under `try-all:` / `eps:`: steps the wrapper decided without the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explore_steps: Option<usize>,
}

impl EpisodeRecord {
    /// A record with the common fields set and the environment-specific ones empty.
    pub fn new(agent: String, env: String, episode: u64, scenario_seed: u64, episode_seed: u64) -> Self {
        EpisodeRecord {
            agent,
            env,
            episode,
            scenario_seed,
            episode_seed,
            actions: Vec::new(),
            rewards: Vec::new(),
            return_: 0.0,
            regret: None,
            cumulative_regret: None,
            final_regret: None,
            coverage_curve: None,
            coverage: None,
            best_arm: None,
            suffix_failure: None,
            min_frac: None,
            greedy_frac: None,
            outcome: None,
            invalid_answers: None,
            answers: None,
            first_answers: None,
            changed_by_correction: None,
            sample_actions: None,
            explore_steps: None,
        }
    }
}
