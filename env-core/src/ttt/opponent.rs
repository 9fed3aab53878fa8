//! The opponents the environment can be configured with, as one value.

use super::board::Board;
use super::mark::Mark;
use super::mcts::{MAX_SIMULATIONS, Mcts, MctsConfig};
use super::minimax::Minimax;
use super::noisy::NoisyMcts;
use super::player::TttPlayer;
use super::random::RandomPlayer;
use crate::error::{Result, check_count, check_range};
use crate::rng::Rng;

/// Arena size of the MCTS searches an [`Opponent`] runs (16 bytes a node: 32 KiB of stack
/// during a move). Budgets above it still run: the tree stops growing and the extra
/// simulations are rollouts from its frontier. For a smaller footprint play against an
/// [`Mcts<N>`](Mcts) directly with [`TicTacToe::with_player`](super::TicTacToe::with_player).
pub const OPPONENT_ARENA: usize = 2048;

/// A configured opponent (and baseline agent): a plain value, validated by
/// [`Opponent::validate`] and again on every move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Opponent {
    /// Uniformly random legal moves.
    Random,
    /// Perfect play with random tie-breaks.
    Minimax,
    /// UCT search with `simulations` per move (`1..=MAX_SIMULATIONS`), exploration sqrt(2).
    Mcts {
        /// Simulations per move.
        simulations: u32,
    },
    /// With probability `p` (in `[0, 1]`; the paper uses 0.5) a random move, else MCTS.
    NoisyMcts {
        /// Simulations per MCTS move.
        simulations: u32,
        /// Probability of a random move.
        p: f64,
    },
}

impl Default for Opponent {
    /// The random opponent.
    fn default() -> Self {
        Opponent::Random
    }
}

impl Opponent {
    /// Checks the settings ([`Error::OutOfRange`](crate::Error), [`Error::NotFinite`](crate::Error)).
    pub fn validate(&self) -> Result<()> {
        match *self {
            Opponent::Random | Opponent::Minimax => Ok(()),
            Opponent::Mcts { simulations } => {
                check_count("simulations", simulations as usize, 1, MAX_SIMULATIONS as usize)
            }
            Opponent::NoisyMcts { simulations, p } => {
                check_count("simulations", simulations as usize, 1, MAX_SIMULATIONS as usize)?;
                check_range("p", p, 0.0, 1.0)
            }
        }
    }
}

impl TttPlayer for Opponent {
    fn choose(&mut self, board: &Board, me: Mark, rng: &mut Rng) -> Result<usize> {
        self.validate()?;
        match *self {
            Opponent::Random => RandomPlayer.choose(board, me, rng),
            Opponent::Minimax => Minimax.choose(board, me, rng),
            Opponent::Mcts { simulations } => mcts_move(simulations, board, me, rng),
            Opponent::NoisyMcts { simulations, p } => noisy_mcts_move(simulations, p, board, me, rng),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Opponent::Random => "random",
            Opponent::Minimax => "minimax",
            Opponent::Mcts { .. } => "mcts",
            Opponent::NoisyMcts { .. } => "noisy-mcts",
        }
    }
}

/// An MCTS move with a fresh arena. Not inlined: the arena ([`OPPONENT_ARENA`] nodes, 32 KiB)
/// then lives on the stack only while an MCTS opponent moves, not in the frame of every
/// `choose` (a random or minimax opponent on a small target needs a few hundred bytes).
#[inline(never)]
fn mcts_move(simulations: u32, board: &Board, me: Mark, rng: &mut Rng) -> Result<usize> {
    Mcts::<OPPONENT_ARENA>::new(MctsConfig::with_simulations(simulations))?.choose(board, me, rng)
}

/// A noisy-MCTS move with a fresh arena; not inlined, as [`mcts_move`].
#[inline(never)]
fn noisy_mcts_move(simulations: u32, p: f64, board: &Board, me: Mark, rng: &mut Rng) -> Result<usize> {
    NoisyMcts::<OPPONENT_ARENA>::new(MctsConfig::with_simulations(simulations), p)?.choose(board, me, rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn validation() {
        assert!(Opponent::Random.validate().is_ok());
        assert!(Opponent::Minimax.validate().is_ok());
        assert!(Opponent::Mcts { simulations: 1 }.validate().is_ok());
        assert!(Opponent::Mcts { simulations: MAX_SIMULATIONS }.validate().is_ok());
        assert!(matches!(
            Opponent::Mcts { simulations: 0 }.validate(),
            Err(Error::OutOfRange { name: "simulations", .. })
        ));
        assert!(matches!(
            Opponent::Mcts { simulations: MAX_SIMULATIONS + 1 }.validate(),
            Err(Error::OutOfRange { name: "simulations", .. })
        ));
        assert!(Opponent::NoisyMcts { simulations: 10, p: 0.5 }.validate().is_ok());
        assert!(matches!(
            Opponent::NoisyMcts { simulations: 10, p: 2.0 }.validate(),
            Err(Error::OutOfRange { name: "p", .. })
        ));
        assert!(matches!(
            Opponent::NoisyMcts { simulations: 0, p: 0.5 }.validate(),
            Err(Error::OutOfRange { .. })
        ));
        // An invalid opponent refuses to move.
        let mut bad = Opponent::NoisyMcts { simulations: 10, p: f64::NAN };
        assert_eq!(
            bad.choose(&Board::new(), Mark::Opponent, &mut Rng::new(0)),
            Err(Error::NotFinite { name: "p" })
        );
    }

    #[test]
    fn names_and_moves() {
        let board = Board::parse("110200000").unwrap();
        for (mut o, name) in [
            (Opponent::Random, "random"),
            (Opponent::Minimax, "minimax"),
            (Opponent::Mcts { simulations: 200 }, "mcts"),
            (Opponent::NoisyMcts { simulations: 200, p: 0.5 }, "noisy-mcts"),
        ] {
            assert_eq!(o.name(), name);
            let mv = o.choose(&board, Mark::Opponent, &mut Rng::new(1)).unwrap();
            assert!(board.is_free(mv));
        }
        assert_eq!(Opponent::Minimax.choose(&board, Mark::Opponent, &mut Rng::new(1)), Ok(2));
        assert_eq!(
            Opponent::Mcts { simulations: 200 }.choose(&board, Mark::Opponent, &mut Rng::new(1)),
            Ok(2)
        );
        assert_eq!(Opponent::default(), Opponent::Random);
    }
}
