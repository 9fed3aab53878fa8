//! Tic-tac-toe: the environment's settings from [`TttSettings`].

use env_core::ttt::{FirstMover, Opponent, TttConfig};

use super::{FirstKind, OpponentKind, TttSettings};

/// The environment's opponent for `settings`.
pub fn opponent(settings: &TttSettings) -> Opponent {
    match settings.opponent {
        OpponentKind::Random => Opponent::Random,
        OpponentKind::Minimax => Opponent::Minimax,
        OpponentKind::Mcts => Opponent::Mcts { simulations: settings.mcts_budget },
        OpponentKind::NoisyMcts => {
            Opponent::NoisyMcts { simulations: settings.mcts_budget, p: settings.noise_p }
        }
    }
}

/// The environment's settings.
pub fn ttt_config(settings: &TttSettings) -> TttConfig {
    let first = match settings.first {
        FirstKind::Agent => FirstMover::Agent,
        FirstKind::Opponent => FirstMover::Opponent,
        FirstKind::Alternate => FirstMover::Alternate,
    };
    TttConfig { opponent: opponent(settings), first }
}
