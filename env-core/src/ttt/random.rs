//! The uniform random player: the paper's weakest opponent.

use super::bits::random_bit;
use super::board::Board;
use super::mark::Mark;
use super::player::{TttPlayer, playable};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// Plays a uniformly random free cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RandomPlayer;

impl RandomPlayer {
    /// The random player.
    pub const fn new() -> Self {
        RandomPlayer
    }
}

/// A uniformly random free cell of `board` ([`Error::EpisodeOver`] when the game is over).
pub(crate) fn random_move(board: &Board, rng: &mut Rng) -> Result<usize> {
    random_bit(playable(board)?, rng).ok_or(Error::EpisodeOver)
}

impl TttPlayer for RandomPlayer {
    fn choose(&mut self, board: &Board, _me: Mark, rng: &mut Rng) -> Result<usize> {
        random_move(board, rng)
    }

    fn name(&self) -> &'static str {
        "random"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_over_free_cells_only() {
        let b = Board::parse("102010200").unwrap(); // free: 1 3 5 7 8
        let mut rng = Rng::new(1);
        let mut counts = [0u32; 9];
        let mut p = RandomPlayer::new();
        for _ in 0..5000 {
            counts[p.choose(&b, Mark::Opponent, &mut rng).unwrap()] += 1;
        }
        for pos in [0, 2, 4, 6] {
            assert_eq!(counts[pos], 0);
        }
        for pos in [1, 3, 5, 7, 8] {
            assert!((850..1150).contains(&counts[pos]), "{counts:?}");
        }
        assert_eq!(p.name(), "random");
    }

    #[test]
    fn finished_games_are_errors() {
        let mut rng = Rng::new(1);
        let mut p = RandomPlayer;
        let won = Board::parse("111220000").unwrap();
        assert_eq!(p.choose(&won, Mark::Opponent, &mut rng), Err(Error::EpisodeOver));
        let full = Board::parse("121122211").unwrap();
        assert_eq!(p.choose(&full, Mark::Agent, &mut rng), Err(Error::EpisodeOver));
    }
}
