//! Perfect play: negamax with alpha-beta pruning on bitboards, no memory beyond the call stack
//! (at most 9 frames).
//!
//! Scores are from the point of view of the player to move: a win scores `1 + the number of
//! cells still empty after the winning move` (so a sooner win scores more), a loss the negative
//! of the opponent's win score (so a later loss scores more), a draw 0. Among the moves with the
//! best score one is drawn uniformly with the caller's RNG, so games between perfect players vary.

use super::bits::{FULL, has_line};
use super::board::{Board, CELLS};
use super::mark::Mark;
use super::player::{TttPlayer, playable};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// Larger than any score (scores lie in -5..=5).
const INF: i32 = 100;

/// Search order: centre, corners, edges (good moves first make alpha-beta prune more).
const ORDER: [usize; CELLS] = [4, 0, 2, 6, 8, 1, 3, 5, 7];

/// The perfect (minimax) player. Stateless.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Minimax;

impl Minimax {
    /// The minimax player.
    pub const fn new() -> Self {
        Minimax
    }

    /// The game-theoretic score of `board` for `me` to move (see the module docs): positive
    /// when `me` wins with perfect play, 0 for a draw, negative for a loss. A finished board
    /// scores 0 for a draw and is otherwise [`Error::EpisodeOver`].
    pub fn value(board: &Board, me: Mark) -> Result<i32> {
        if board.status() == super::board::GameStatus::Draw {
            return Ok(0);
        }
        playable(board)?;
        Ok(negamax(board.mask(me), board.mask(me.other()), -INF, INF))
    }

    /// The best score for `me` and every move reaching it (in increasing cell order).
    /// [`Error::EpisodeOver`] when the game is over.
    pub fn best_moves(board: &Board, me: Mark) -> Result<(i32, heapless::Vec<u8, CELLS>)> {
        let free = playable(board)?;
        let mine = board.mask(me);
        let theirs = board.mask(me.other());
        let empties_after = free.count_ones() as i32 - 1;
        let mut best = -INF;
        let mut moves = heapless::Vec::new();
        for pos in 0..CELLS {
            let bit = 1u16 << pos;
            if free & bit == 0 {
                continue;
            }
            let m = mine | bit;
            // Window (best - 1, INF): scores >= best come back exact, worse ones as bounds < best.
            let s = if has_line(m) {
                1 + empties_after
            } else if empties_after == 0 {
                0
            } else {
                -negamax(theirs, m, -INF, -(best - 1))
            };
            if s > best {
                best = s;
                moves.clear();
            }
            if s == best {
                // At most 9 moves: the push cannot fail.
                let _ = moves.push(pos as u8);
            }
        }
        Ok((best, moves))
    }
}

/// Fail-soft negamax for `me` to move on a board that is not finished.
fn negamax(me: u16, them: u16, mut alpha: i32, beta: i32) -> i32 {
    let free = !(me | them) & FULL;
    let empties_after = free.count_ones() as i32 - 1;
    let mut best = -INF;
    for &pos in &ORDER {
        let bit = 1u16 << pos;
        if free & bit == 0 {
            continue;
        }
        let m = me | bit;
        let s = if has_line(m) {
            1 + empties_after
        } else if empties_after == 0 {
            0
        } else {
            -negamax(them, m, -beta, -alpha)
        };
        if s > best {
            best = s;
            if best > alpha {
                alpha = best;
                if alpha >= beta {
                    break;
                }
            }
        }
    }
    best
}

impl TttPlayer for Minimax {
    fn choose(&mut self, board: &Board, me: Mark, rng: &mut Rng) -> Result<usize> {
        let (_, moves) = Minimax::best_moves(board, me)?;
        moves.get(rng.below(moves.len())).map(|&p| p as usize).ok_or(Error::EpisodeOver)
    }

    fn name(&self) -> &'static str {
        "minimax"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Board {
        Board::parse(s).unwrap()
    }

    /// Plain minimax without pruning, as the reference the pruned search must agree with.
    fn reference(me: u16, them: u16) -> i32 {
        let free = !(me | them) & FULL;
        let after = free.count_ones() as i32 - 1;
        let mut best = -INF;
        for pos in 0..9 {
            if free & (1 << pos) == 0 {
                continue;
            }
            let m = me | (1 << pos);
            let s = if has_line(m) {
                1 + after
            } else if after == 0 {
                0
            } else {
                -reference(them, m)
            };
            best = best.max(s);
        }
        best
    }

    #[test]
    fn empty_board_is_a_draw_and_every_move_draws() {
        let (v, moves) = Minimax::best_moves(&Board::new(), Mark::Agent).unwrap();
        assert_eq!(v, 0);
        assert_eq!(moves.as_slice(), &[0, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(Minimax::value(&Board::new(), Mark::Opponent), Ok(0));
    }

    #[test]
    fn takes_the_win_and_blocks() {
        let mut rng = Rng::new(0);
        let mut p = Minimax::new();
        // Agent to move can win at 2; the opponent threatens 3 too. Winning beats blocking.
        let board = b("110022000");
        assert_eq!(p.choose(&board, Mark::Agent, &mut rng), Ok(2));
        assert_eq!(
            Minimax::best_moves(&board, Mark::Agent).unwrap(),
            (1 + 4, heapless::Vec::from_slice(&[2]).unwrap())
        );
        // The opponent to move wins at 3 rather than blocking at 2.
        assert_eq!(p.choose(&board, Mark::Opponent, &mut rng), Ok(3));
        // Pure block: agent threatens 0-1-2, opponent has nothing.
        for seed in 0..20 {
            let mut rng = Rng::new(seed);
            assert_eq!(p.choose(&b("110200000"), Mark::Opponent, &mut rng), Ok(2));
        }
    }

    #[test]
    fn prefers_faster_wins() {
        // Agent: 0, 4. Opponent: 1, 2. Agent to move wins now at 8 (diagonal); 6 also forks but
        // wins later. The quick win is the only best move.
        let board = b("122010000");
        let (v, moves) = Minimax::best_moves(&board, Mark::Agent).unwrap();
        assert_eq!(moves.as_slice(), &[8]);
        assert_eq!(v, 1 + 4);
    }

    #[test]
    fn agrees_with_plain_minimax_on_many_positions() {
        // Random reachable positions: scores of every move must match the unpruned search.
        let mut rng = Rng::new(11);
        for _ in 0..300 {
            let mut board = Board::new();
            let mut mark = if rng.bernoulli(0.5) { Mark::Agent } else { Mark::Opponent };
            let plies = rng.below(6);
            for _ in 0..plies {
                if board.is_over() {
                    break;
                }
                let free = board.free_cells();
                board.play(free[rng.below(free.len())] as usize, mark).unwrap();
                mark = mark.other();
            }
            if board.is_over() {
                continue;
            }
            let (v, moves) = Minimax::best_moves(&board, mark).unwrap();
            let (me, them) = (board.mask(mark), board.mask(mark.other()));
            assert_eq!(v, reference(me, them), "{board}");
            assert_eq!(Minimax::value(&board, mark), Ok(v));
            for p in board.free_cells() {
                let m = me | (1 << p);
                let after = board.empty_count() as i32 - 1;
                let s = if has_line(m) {
                    1 + after
                } else if after == 0 {
                    0
                } else {
                    -reference(them, m)
                };
                assert_eq!(s == v, moves.contains(&p), "{board} move {p}");
            }
        }
    }

    #[test]
    fn tie_break_varies_with_rng() {
        let mut p = Minimax;
        let mut seen = [false; 9];
        for seed in 0..200 {
            seen[p.choose(&Board::new(), Mark::Agent, &mut Rng::new(seed)).unwrap()] = true;
        }
        assert!(seen.iter().all(|&s| s), "{seen:?}");
    }

    #[test]
    fn errors() {
        let mut rng = Rng::new(0);
        assert_eq!(Minimax.choose(&b("111220000"), Mark::Opponent, &mut rng), Err(Error::EpisodeOver));
        assert_eq!(Minimax::value(&b("111220000"), Mark::Opponent), Err(Error::EpisodeOver));
        assert_eq!(Minimax::value(&b("121122211"), Mark::Agent), Ok(0));
        assert!(Minimax::best_moves(&b("121122211"), Mark::Agent).is_err());
        assert_eq!(Minimax.name(), "minimax");
    }
}
