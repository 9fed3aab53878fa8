//! The tic-tac-toe environment: the agent plays `1`, a configured opponent replies with `2`.

use super::board::{Board, CELLS, GameStatus};
use super::mark::Mark;
use super::opponent::Opponent;
use super::player::TttPlayer;
use crate::env::{Environment, Transition};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// Sub-stream of the episode seed that drives the opponent ("TTTOPP").
const OPPONENT_STREAM: u64 = 0x5454_544F_5050;

/// Who makes the first move of an episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FirstMover {
    /// The agent (the default).
    #[default]
    Agent,
    /// The opponent: it moves during [`Environment::reset`].
    Opponent,
    /// By the episode seed: the agent when it is even, the opponent when it is odd.
    Alternate,
}

impl FirstMover {
    /// Whether the agent starts the episode with seed `seed`.
    pub fn agent_starts(self, seed: u64) -> bool {
        match self {
            FirstMover::Agent => true,
            FirstMover::Opponent => false,
            FirstMover::Alternate => seed.is_multiple_of(2),
        }
    }
}

/// How a finished game ended for the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The agent completed a line.
    Win,
    /// The board filled without a line.
    Draw,
    /// The opponent completed a line.
    Loss,
}

impl Outcome {
    /// The reward: +1, 0, -1.
    pub fn reward(self) -> f64 {
        match self {
            Outcome::Win => 1.0,
            Outcome::Draw => 0.0,
            Outcome::Loss => -1.0,
        }
    }

    /// Lower-case name: `win`, `draw`, `loss`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Win => "win",
            Outcome::Draw => "draw",
            Outcome::Loss => "loss",
        }
    }
}

/// What a step reports besides the reward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TttInfo {
    /// The opponent's reply, if it moved (not when the agent's move ended the game).
    pub opponent_move: Option<usize>,
    /// The result once the game is over.
    pub outcome: Option<Outcome>,
}

/// Settings of the environment.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TttConfig {
    /// The opponent (default random).
    pub opponent: Opponent,
    /// Who moves first (default the agent).
    pub first: FirstMover,
}

/// Tic-tac-toe against an opponent `P` (by default the configurable [`Opponent`]).
///
/// The observation is the board after the opponent's reply. The reward is +1 / 0 / -1 for a
/// win / draw / loss, given on the final step only; episodes terminate and are never truncated.
/// The opponent draws its randomness from a stream of the seed given to
/// [`Environment::reset`], so a seed fixes its play.
#[derive(Debug, Clone)]
pub struct TicTacToe<P: TttPlayer = Opponent> {
    opponent: P,
    first: FirstMover,
    board: Board,
    rng: Rng,
    steps: usize,
    outcome: Option<Outcome>,
    agent_started: bool,
    last_opponent_move: Option<usize>,
}

impl TicTacToe<Opponent> {
    /// An environment with `config`, already reset with seed 0. [`Error::OutOfRange`] /
    /// [`Error::NotFinite`] for invalid opponent settings.
    pub fn new(config: TttConfig) -> Result<Self> {
        config.opponent.validate()?;
        TicTacToe::with_player(config.opponent, config.first)
    }

    /// The settings.
    pub fn config(&self) -> TttConfig {
        TttConfig { opponent: self.opponent, first: self.first }
    }
}

impl<P: TttPlayer> TicTacToe<P> {
    /// An environment against any player (e.g. an [`Mcts<256>`](super::Mcts) on a small
    /// target), already reset with seed 0. Errors when the opponent fails its opening move.
    pub fn with_player(opponent: P, first: FirstMover) -> Result<Self> {
        let mut env = TicTacToe {
            opponent,
            first,
            board: Board::new(),
            rng: Rng::new(0),
            steps: 0,
            outcome: None,
            agent_started: true,
            last_opponent_move: None,
        };
        env.reset(0)?;
        Ok(env)
    }

    /// The current board.
    pub fn board(&self) -> &Board {
        &self.board
    }

    /// The opponent.
    pub fn opponent(&self) -> &P {
        &self.opponent
    }

    /// Who moves first.
    pub fn first_mover(&self) -> FirstMover {
        self.first
    }

    /// Whether the agent made the first move of the current episode.
    pub fn agent_started(&self) -> bool {
        self.agent_started
    }

    /// The opponent's latest move in this episode (its opening move right after a reset when
    /// it starts).
    pub fn last_opponent_move(&self) -> Option<usize> {
        self.last_opponent_move
    }

    /// The result, once the game is over.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    /// The agent's legal actions (free cells, increasing; empty when the game is over).
    pub fn legal_actions(&self) -> heapless::Vec<u8, CELLS> {
        self.board.legal_moves()
    }

    /// The opponent's move on `board`, checked to be legal.
    fn opponent_move(&mut self, board: &Board) -> Result<(usize, Board)> {
        let pos = self.opponent.choose(board, Mark::Opponent, &mut self.rng)?;
        let next = board.with_move(pos, Mark::Opponent)?;
        Ok((pos, next))
    }
}

/// The outcome of a finished `board`, `None` while it is in progress.
fn outcome_of(board: &Board) -> Option<Outcome> {
    match board.status() {
        GameStatus::InProgress => None,
        GameStatus::Draw => Some(Outcome::Draw),
        GameStatus::Won(Mark::Agent) => Some(Outcome::Win),
        GameStatus::Won(Mark::Opponent) => Some(Outcome::Loss),
    }
}

impl<P: TttPlayer> Environment for TicTacToe<P> {
    type Observation = Board;
    type Info = TttInfo;

    /// Empties the board and seeds the opponent; if the opponent starts, it moves here.
    /// On error (an opponent that fails to move) the previous episode is left as it was.
    fn reset(&mut self, seed: u64) -> Result<Board> {
        let saved_rng = self.rng.clone();
        self.rng = Rng::from_stream(seed, OPPONENT_STREAM);
        let agent_started = self.first.agent_starts(seed);
        let mut board = Board::new();
        let mut opening = None;
        if !agent_started {
            match self.opponent_move(&board) {
                Ok((pos, next)) => {
                    board = next;
                    opening = Some(pos);
                }
                Err(e) => {
                    self.rng = saved_rng;
                    return Err(e);
                }
            }
        }
        self.board = board;
        self.steps = 0;
        self.outcome = None;
        self.agent_started = agent_started;
        self.last_opponent_move = opening;
        Ok(board)
    }

    /// Plays the agent's move `action` (a cell 0..=8), then the opponent's reply unless the game
    /// ended. Errors, with the state unchanged: [`Error::EpisodeOver`] after the end,
    /// [`Error::InvalidAction`] for `action >= 9`, [`Error::IllegalMove`] for a taken cell.
    fn step(&mut self, action: usize) -> Result<Transition<Board, TttInfo>> {
        if self.outcome.is_some() {
            return Err(Error::EpisodeOver);
        }
        let mut board = self.board.with_move(action, Mark::Agent)?;
        let mut opponent_move = None;
        let saved_rng = self.rng.clone();
        let mut outcome = outcome_of(&board);
        if outcome.is_none() {
            match self.opponent_move(&board) {
                Ok((pos, next)) => {
                    board = next;
                    opponent_move = Some(pos);
                    outcome = outcome_of(&board);
                }
                Err(e) => {
                    self.rng = saved_rng;
                    return Err(e);
                }
            }
        }
        self.board = board;
        self.steps += 1;
        self.outcome = outcome;
        if opponent_move.is_some() {
            self.last_opponent_move = opponent_move;
        }
        Ok(Transition {
            observation: board,
            reward: outcome.map_or(0.0, Outcome::reward),
            terminated: outcome.is_some(),
            truncated: false,
            info: TttInfo { opponent_move, outcome },
        })
    }

    fn num_actions(&self) -> usize {
        CELLS
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn is_done(&self) -> bool {
        self.outcome.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ttt::{Minimax, RandomPlayer};

    /// A player that always answers the same cell, to script games and to test bad players.
    struct Fixed(&'static [usize], usize);

    impl TttPlayer for Fixed {
        fn choose(&mut self, _: &Board, _: Mark, _: &mut Rng) -> Result<usize> {
            let mv = self.0.get(self.1).copied().unwrap_or(0);
            self.1 += 1;
            Ok(mv)
        }
        fn name(&self) -> &'static str {
            "fixed"
        }
    }

    #[test]
    fn win_draw_loss_rewards() {
        // Agent wins on the top row; the opponent plays 3, 4.
        let mut env = TicTacToe::with_player(Fixed(&[3, 4], 0), FirstMover::Agent).unwrap();
        assert_eq!(env.board().as_str(), "000000000");
        let t = env.step(0).unwrap();
        assert_eq!((t.reward, t.terminated, t.truncated), (0.0, false, false));
        assert_eq!(t.info, TttInfo { opponent_move: Some(3), outcome: None });
        assert_eq!(t.observation.as_str(), "100200000");
        env.step(1).unwrap();
        let t = env.step(2).unwrap();
        assert_eq!(t.observation.as_str(), "111220000");
        assert_eq!((t.reward, t.terminated, t.truncated), (1.0, true, false));
        assert_eq!(t.info, TttInfo { opponent_move: None, outcome: Some(Outcome::Win) });
        assert!(env.is_done());
        assert_eq!(env.steps_taken(), 3);
        assert_eq!(env.step(5), Err(Error::EpisodeOver));
        assert_eq!(env.outcome(), Some(Outcome::Win));

        // Loss: the opponent completes the middle row.
        let mut env = TicTacToe::with_player(Fixed(&[3, 4, 5], 0), FirstMover::Agent).unwrap();
        env.step(0).unwrap();
        env.step(1).unwrap();
        let t = env.step(8).unwrap();
        assert_eq!(t.observation.as_str(), "110222001");
        assert_eq!((t.reward, t.terminated), (-1.0, true));
        assert_eq!(t.info, TttInfo { opponent_move: Some(5), outcome: Some(Outcome::Loss) });

        // Draw: 1 2 1 / 1 2 2 / 2 1 1 with the agent moving 0, 2, 3, 7, 8.
        let mut env = TicTacToe::with_player(Fixed(&[1, 4, 5, 6], 0), FirstMover::Agent).unwrap();
        for a in [0, 2, 3, 7] {
            let t = env.step(a).unwrap();
            assert_eq!(t.reward, 0.0);
            assert!(!t.terminated);
        }
        let t = env.step(8).unwrap();
        assert_eq!(t.observation.as_str(), "121122211");
        assert_eq!((t.reward, t.terminated), (0.0, true));
        assert_eq!(t.info.outcome, Some(Outcome::Draw));
    }

    #[test]
    fn errors_leave_the_state_unchanged() {
        let mut env = TicTacToe::new(TttConfig::default()).unwrap();
        env.reset(9).unwrap();
        let t = env.step(4).unwrap();
        let taken = t.info.opponent_move.unwrap();
        let before = env.clone();
        assert_eq!(env.step(4), Err(Error::IllegalMove { position: 4 }));
        assert_eq!(env.step(taken), Err(Error::IllegalMove { position: taken }));
        assert_eq!(env.step(9), Err(Error::InvalidAction { action: 9, num_actions: 9 }));
        assert_eq!(env.board(), before.board());
        assert_eq!(env.steps_taken(), 1);
        // The opponent's RNG did not advance either: the next moves match an untouched copy.
        let mut copy = before;
        let free = env.legal_actions()[0] as usize;
        assert_eq!(env.step(free), copy.step(free));
    }

    #[test]
    fn an_illegal_opponent_is_an_error_not_a_corruption() {
        // This opponent answers cell 0, which the agent takes first.
        let mut env = TicTacToe::with_player(Fixed(&[0, 0], 0), FirstMover::Agent).unwrap();
        assert_eq!(env.step(0), Err(Error::IllegalMove { position: 0 }));
        assert_eq!(env.board().as_str(), "000000000");
        assert_eq!(env.steps_taken(), 0);
        assert!(!env.is_done());
    }

    #[test]
    fn first_mover_settings() {
        let mut env =
            TicTacToe::new(TttConfig { opponent: Opponent::Random, first: FirstMover::Opponent }).unwrap();
        for seed in 0..20 {
            let b = env.reset(seed).unwrap();
            assert_eq!(b.count(Mark::Opponent), 1);
            assert_eq!(b.count(Mark::Agent), 0);
            assert!(!env.agent_started());
            let opening = env.last_opponent_move().unwrap();
            assert_eq!(b.get(opening), Ok(Some(Mark::Opponent)));
        }
        let mut env =
            TicTacToe::new(TttConfig { opponent: Opponent::Random, first: FirstMover::Alternate }).unwrap();
        for seed in 0..20u64 {
            let b = env.reset(seed).unwrap();
            assert_eq!(env.agent_started(), seed % 2 == 0);
            assert_eq!(b.empty_count(), if seed % 2 == 0 { 9 } else { 8 });
        }
        let env = TicTacToe::new(TttConfig::default()).unwrap();
        assert!(env.agent_started());
        assert_eq!(env.last_opponent_move(), None);
        assert_eq!(env.num_actions(), 9);
        assert_eq!(env.config(), TttConfig::default());
        assert_eq!(env.first_mover(), FirstMover::Agent);
        assert_eq!(env.opponent().name(), "random");
    }

    #[test]
    fn invalid_config_is_rejected() {
        let bad = TttConfig { opponent: Opponent::Mcts { simulations: 0 }, first: FirstMover::Agent };
        assert!(matches!(TicTacToe::new(bad), Err(Error::OutOfRange { name: "simulations", .. })));
        let bad =
            TttConfig { opponent: Opponent::NoisyMcts { simulations: 5, p: -1.0 }, ..TttConfig::default() };
        assert!(matches!(TicTacToe::new(bad), Err(Error::OutOfRange { name: "p", .. })));
    }

    #[test]
    fn works_with_any_player_and_dyn() {
        let mut minimax = Minimax;
        let dyn_player: &mut dyn TttPlayer = &mut minimax;
        let mut env = TicTacToe::with_player(dyn_player, FirstMover::Opponent).unwrap();
        let mut agent = RandomPlayer;
        let mut rng = Rng::new(2);
        let mut board = env.reset(2).unwrap();
        let mut last = None;
        while !env.is_done() {
            let t = env.step(agent.choose(&board, Mark::Agent, &mut rng).unwrap()).unwrap();
            board = t.observation;
            last = Some(t);
        }
        let t = last.unwrap();
        assert!(t.reward <= 0.0, "minimax never loses");
        assert_eq!(Outcome::Loss.name(), "loss");
        assert_eq!(Outcome::Win.reward(), 1.0);
    }
}
