//! Tic-tac-toe (SPEC section 2): the board, the environment an agent plays in, and the players
//! it is measured against (uniform random, perfect minimax, UCT Monte-Carlo tree search and its
//! noisy variant).
//!
//! The board is a 9-character string of `0`/`1`/`2` (0 empty, 1 the agent, 2 the opponent),
//! positions 0..8 row by row:
//!
//! ```text
//! 0 1 2
//! 3 4 5
//! 6 7 8
//! ```
//!
//! Every player implements the object-safe [`TttPlayer`] trait, so the same code serves as the
//! environment's opponent and as a baseline agent. Nothing here allocates: search runs on
//! bitboards, and MCTS keeps its tree in a fixed-capacity arena ([`Mcts<NODES>`](Mcts)).
//!
//! ```
//! use env_core::ttt::{Board, Mark, Minimax, TicTacToe, TttConfig, TttPlayer, Opponent};
//! use env_core::{Environment, Rng};
//!
//! let mut env = TicTacToe::new(TttConfig { opponent: Opponent::Random, ..TttConfig::default() })?;
//! let mut agent = Minimax::new();
//! let mut rng = Rng::new(7);
//! let mut board: Board = env.reset(7)?;
//! loop {
//!     let action = agent.choose(&board, Mark::Agent, &mut rng)?;
//!     let t = env.step(action)?;
//!     board = t.observation;
//!     if t.done() {
//!         assert!(t.reward >= 0.0); // perfect play never loses
//!         break;
//!     }
//! }
//! # Ok::<(), env_core::Error>(())
//! ```

mod bits;
pub mod board;
pub mod env;
pub mod mark;
pub mod mcts;
pub mod minimax;
pub mod noisy;
pub mod opponent;
pub mod player;
pub mod random;

pub use board::{Board, CELLS, GameStatus, LINES};
pub use env::{FirstMover, Outcome, TicTacToe, TttConfig, TttInfo};
pub use mark::Mark;
pub use mcts::{DEFAULT_EXPLORATION, MAX_SIMULATIONS, Mcts, MctsConfig};
pub use minimax::Minimax;
pub use noisy::{DEFAULT_NOISE, NoisyMcts};
pub use opponent::{OPPONENT_ARENA, Opponent};
pub use player::TttPlayer;
pub use random::RandomPlayer;
