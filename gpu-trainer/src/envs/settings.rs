//! The settings of the three environments, and the names users pick them by (with the `clap`
//! feature these enums are also command-line values; they read from JSON config files as
//! lower-case strings).

use std::fmt;
use std::path::PathBuf;

use env_core::MabConfig;
use serde::{Deserialize, Serialize};

/// Which environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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

/// Reward distribution of the bandit arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum DistKind {
    /// N(mu, sigma), mu ~ U(0, 1).
    Gaussian,
    /// One best arm at 0.5 + gap/2, the others at 0.5 - gap/2.
    Bernoulli,
}

/// How actions are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum LabelKind {
    /// Colour names.
    Buttons,
    /// 0..k-1.
    Numeric,
}

impl From<LabelKind> for env_core::LabelStyle {
    fn from(k: LabelKind) -> Self {
        match k {
            LabelKind::Buttons => env_core::LabelStyle::Buttons,
            LabelKind::Numeric => env_core::LabelStyle::Numeric,
        }
    }
}

/// The tic-tac-toe opponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum OpponentKind {
    /// Uniformly random legal moves.
    Random,
    /// Perfect play.
    Minimax,
    /// Monte-Carlo tree search with --mcts-budget simulations.
    Mcts,
    /// MCTS that plays a random move with probability --noise-p.
    NoisyMcts,
}

/// Who moves first in tic-tac-toe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum FirstKind {
    /// The evaluated agent.
    Agent,
    /// The opponent.
    Opponent,
    /// The agent in even-seeded episodes, the opponent in odd ones.
    Alternate,
}

/// Contextual-bandit settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CbSettings {
    /// Number of movies (arms).
    pub movies: usize,
    /// Number of users of the synthetic table.
    pub users: usize,
    /// MovieLens-1M directory, if real data is used.
    pub movielens: Option<PathBuf>,
    /// Steps per episode.
    pub horizon: usize,
}

/// Tic-tac-toe settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TttSettings {
    /// The opponent.
    pub opponent: OpponentKind,
    /// MCTS simulations per move (mcts agent and opponents).
    pub mcts_budget: u32,
    /// Random-move probability of the noisy MCTS opponent.
    pub noise_p: f64,
    /// Who moves first.
    pub first: FirstKind,
}

/// The environment and its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum EnvSettings {
    /// Multi-armed bandit.
    Mab(MabConfig),
    /// Contextual bandit.
    Cb(CbSettings),
    /// Tic-tac-toe.
    Ttt(TttSettings),
}

impl EnvSettings {
    /// Which environment.
    pub fn kind(&self) -> EnvKind {
        match self {
            EnvSettings::Mab(_) => EnvKind::Mab,
            EnvSettings::Cb(_) => EnvKind::Cb,
            EnvSettings::Ttt(_) => EnvKind::Ttt,
        }
    }

    /// Steps per episode for bandits (curves have this length); `None` for tic-tac-toe.
    pub fn horizon(&self) -> Option<usize> {
        match self {
            EnvSettings::Mab(c) => Some(c.horizon),
            EnvSettings::Cb(c) => Some(c.horizon),
            EnvSettings::Ttt(_) => None,
        }
    }

    /// The short label used in outputs (`mab`, `cb`, `ttt`).
    pub fn name(&self) -> String {
        self.kind().to_string()
    }
}
