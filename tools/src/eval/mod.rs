//! Evaluation of baseline agents: settings, agents, one episode per environment, the parallel
//! runner and the per-agent summary.
//!
//! Determinism: episode `i` of a run with seed `s` draws its scenario from
//! `scenario_seed = derive_seed(s, i)` and its reward noise / opponent moves and the agent's own
//! randomness from seeds derived from that one, so every agent faces the same scenarios and the
//! results do not depend on how rayon schedules the episodes.

pub mod agent_spec;
pub mod bandit_agents;
pub mod cb;
pub mod episode;
pub mod mab;
pub mod runner;
pub mod settings;
pub mod summary;
pub mod ttt;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use agent_spec::{AgentSpec, BaseAgent, Wrapper};
pub use episode::EpisodeRecord;
pub use runner::{EvalOutput, run_eval};
pub use settings::{EnvSettings, EvalSettings};
pub use summary::AgentSummary;

/// Which environment to evaluate on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EnvKind {
    /// Multi-armed bandit.
    Mab,
    /// MovieLens-style contextual bandit.
    Cb,
    /// Tic-tac-toe.
    Ttt,
}

impl fmt::Display for EnvKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EnvKind::Mab => "mab",
            EnvKind::Cb => "cb",
            EnvKind::Ttt => "ttt",
        })
    }
}

/// The seeds of episode `index` of a run seeded with `seed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpisodeSeeds {
    /// Fixes the scenario (arm means and labels, the user table's draw, ...).
    pub scenario: u64,
    /// Fixes the episode's randomness: reward noise, opponent moves, users shown, and (through
    /// its `POLICY` sub-stream, as in `env_core::agents::run_bandit_episode`) the agent's own.
    pub episode: u64,
}

impl EpisodeSeeds {
    /// Seeds for episode `index`: `scenario = derive_seed(seed, index)`, the others derived from it.
    pub fn new(seed: u64, index: u64) -> Self {
        use env_core::rng::derive_seed;
        let scenario = derive_seed(seed, index);
        EpisodeSeeds {
            scenario,
            episode: derive_seed(scenario, 0x0045_5049_534F_4445), // "EPISODE"
        }
    }
}
