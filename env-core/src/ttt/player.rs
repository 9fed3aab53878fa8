//! The one interface of every tic-tac-toe player, opponent or baseline agent.

use super::board::Board;
use super::mark::Mark;
use crate::error::{Error, Result};
use crate::rng::Rng;

/// A tic-tac-toe player. Object safe: the environment and the tools can hold a
/// `&mut dyn TttPlayer`.
pub trait TttPlayer {
    /// Chooses a free cell (0..=8) for `me` on `board`, drawing any randomness from `rng`.
    ///
    /// Errors: [`Error::EpisodeOver`] when the game on `board` is already over; a player's own
    /// invalid settings (e.g. [`Error::OutOfRange`]).
    fn choose(&mut self, board: &Board, me: Mark, rng: &mut Rng) -> Result<usize>;

    /// A short lower-case name (`random`, `minimax`, `mcts`, `noisy-mcts`).
    fn name(&self) -> &'static str;
}

impl<P: TttPlayer + ?Sized> TttPlayer for &mut P {
    fn choose(&mut self, board: &Board, me: Mark, rng: &mut Rng) -> Result<usize> {
        (**self).choose(board, me, rng)
    }

    fn name(&self) -> &'static str {
        (**self).name()
    }
}

/// The free-cell mask of `board`, or [`Error::EpisodeOver`] when there is no move to make.
pub(crate) fn playable(board: &Board) -> Result<u16> {
    if board.is_over() {
        return Err(Error::EpisodeOver);
    }
    Ok(board.free_mask())
}
