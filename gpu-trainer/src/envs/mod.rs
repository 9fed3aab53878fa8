//! The environments as a run sees them: their settings ([`settings`]), the seeds of each
//! episode ([`EpisodeSeeds`]), and what a finished episode records ([`EpisodeRecord`], measured
//! by [`mab`], [`cb`] and [`ttt`]); the contextual bandit's tables, synthetic or MovieLens-1M
//! ([`cb::CbData`], [`movielens`]). The baseline agents ([`crate::eval`]) and the LLM agent
//! ([`crate::agent`]) both play through this module, so their episodes are measured alike.
//!
//! Determinism: episode `i` of a run with seed `s` draws its scenario from
//! `scenario_seed = derive_seed(s, i)` and its reward noise / opponent moves and the agent's own
//! randomness from seeds derived from that one, so every agent faces the same scenarios and the
//! results do not depend on how episodes are scheduled.

pub mod cb;
pub mod mab;
pub mod movielens;
pub mod record;
pub mod settings;
pub mod ttt;

pub use record::EpisodeRecord;
pub use settings::{
    CbSettings, DistKind, EnvKind, EnvSettings, FirstKind, LabelKind, OpponentKind, TttSettings,
};

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
