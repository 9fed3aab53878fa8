//! Noisy MCTS: the paper's middle-strength opponent.

use super::board::Board;
use super::mark::Mark;
use super::mcts::{Mcts, MctsConfig};
use super::player::{TttPlayer, playable};
use super::random::random_move;
use crate::error::{Result, check_range};
use crate::rng::Rng;

/// The probability of a random move used unless set (the paper's 0.5).
pub const DEFAULT_NOISE: f64 = 0.5;

/// With probability `p` a uniformly random free cell, otherwise the move of an
/// [`Mcts<NODES>`](Mcts) search.
#[derive(Debug, Clone)]
pub struct NoisyMcts<const NODES: usize> {
    mcts: Mcts<NODES>,
    p: f64,
}

impl<const NODES: usize> NoisyMcts<NODES> {
    /// A noisy MCTS player; errors as [`Mcts::new`], and [`Error::OutOfRange`](crate::Error)
    /// unless `0 <= p <= 1`.
    pub fn new(config: MctsConfig, p: f64) -> Result<Self> {
        check_range("p", p, 0.0, 1.0)?;
        Ok(NoisyMcts { mcts: Mcts::new(config)?, p })
    }

    /// The probability of a random move.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// The underlying search.
    pub fn mcts(&self) -> &Mcts<NODES> {
        &self.mcts
    }
}

impl<const NODES: usize> TttPlayer for NoisyMcts<NODES> {
    fn choose(&mut self, board: &Board, me: Mark, rng: &mut Rng) -> Result<usize> {
        playable(board)?;
        if rng.bernoulli(self.p) { random_move(board, rng) } else { self.mcts.choose(board, me, rng) }
    }

    fn name(&self) -> &'static str {
        "noisy-mcts"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn validates_p() {
        let c = MctsConfig::with_simulations(10);
        assert!(NoisyMcts::<32>::new(c, 0.0).is_ok());
        assert!(NoisyMcts::<32>::new(c, 1.0).is_ok());
        assert!(matches!(NoisyMcts::<32>::new(c, 1.5), Err(Error::OutOfRange { name: "p", .. })));
        assert!(matches!(NoisyMcts::<32>::new(c, -0.1), Err(Error::OutOfRange { name: "p", .. })));
        assert!(matches!(NoisyMcts::<32>::new(c, f64::NAN), Err(Error::NotFinite { name: "p" })));
        assert!(matches!(
            NoisyMcts::<32>::new(MctsConfig::with_simulations(0), 0.5),
            Err(Error::OutOfRange { .. })
        ));
    }

    #[test]
    fn p_zero_is_mcts_and_p_one_ignores_threats() {
        let board = Board::parse("110200000").unwrap(); // the opponent must block at 2
        let c = MctsConfig::with_simulations(300);
        let mut sharp = NoisyMcts::<512>::new(c, 0.0).unwrap();
        let mut blind = NoisyMcts::<512>::new(c, 1.0).unwrap();
        let mut rng = Rng::new(4);
        let mut blind_blocks = 0;
        for _ in 0..60 {
            assert_eq!(sharp.choose(&board, Mark::Opponent, &mut rng), Ok(2));
            if blind.choose(&board, Mark::Opponent, &mut rng) == Ok(2) {
                blind_blocks += 1;
            }
        }
        // Uniform over 6 free cells: about 10 of 60.
        assert!(blind_blocks < 25, "{blind_blocks}");
        assert_eq!(sharp.name(), "noisy-mcts");
        assert_eq!(blind.p(), 1.0);
        assert_eq!(blind.mcts().config().simulations, 300);
    }
}
