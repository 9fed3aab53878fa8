//! `ec_ttt_player_*`: tic-tac-toe players, as agents or as stand-alone opponents: random,
//! minimax, MCTS and noisy MCTS. An MCTS player keeps its node arena (2048 nodes, 32 KiB) in
//! the object, not on the stack.

use core::ffi::c_char;

use env_core::ttt::{
    Board, Mark, Mcts, MctsConfig, Minimax, NoisyMcts, RandomPlayer, TttPlayer, OPPONENT_ARENA,
};
use env_core::Rng;

use crate::object::{self, Storage};
use crate::status::{to_status, EcStatus};
use crate::text::{arg, out, text_arg};
use crate::ttt::{opponent, EC_PLAYER_MCTS, EC_PLAYER_MINIMAX, EC_PLAYER_NOISY_MCTS, EC_PLAYER_RANDOM};

/// 8-byte words of an [`EcTttPlayer`].
pub const EC_TTT_PLAYER_WORDS: usize = 4112;

/// Bytes of an [`EcTttPlayer`] (`sizeof`).
pub const EC_TTT_PLAYER_SIZE: usize = EC_TTT_PLAYER_WORDS * 8;

/// A tic-tac-toe player, in caller storage.
#[repr(C)]
pub struct EcTttPlayer {
    /// Opaque: written and read by the library only.
    pub opaque: [u64; EC_TTT_PLAYER_WORDS],
}

/// Which player (the `EC_PLAYER_*` kinds of `EcTttConfig`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EcTttPlayerConfig {
    /// `EC_PLAYER_RANDOM`, `EC_PLAYER_MINIMAX`, `EC_PLAYER_MCTS` or `EC_PLAYER_NOISY_MCTS`.
    pub kind: u32,
    /// MCTS simulations per move (1..=1000000).
    pub simulations: u32,
    /// Noisy MCTS: probability of a random move (0..=1).
    pub p: f64,
}

/// The player.
#[derive(Debug, Clone)]
enum Kind {
    Random(RandomPlayer),
    Minimax(Minimax),
    Mcts(Mcts<OPPONENT_ARENA>),
    Noisy(NoisyMcts<OPPONENT_ARENA>),
}

/// What the storage holds.
#[derive(Debug, Clone)]
pub struct Player {
    kind: Kind,
    rng: Rng,
}

impl Storage for EcTttPlayer {
    type Inner = Player;
    const TAG: u64 = 0x4543_5F50_4C59_0006;
}

impl Player {
    fn player(&mut self) -> &mut dyn TttPlayer {
        match &mut self.kind {
            Kind::Random(p) => p,
            Kind::Minimax(p) => p,
            Kind::Mcts(p) => p,
            Kind::Noisy(p) => p,
        }
    }
}

/// Initialises `player` from `config`; its generator is seeded with `seed` (`Rng::new(seed)`).
///
/// # Safety
/// `player` must point to `EC_TTT_PLAYER_SIZE` writable bytes, `config` to a config.
#[no_mangle]
pub unsafe extern "C" fn ec_ttt_player_init(
    player: *mut EcTttPlayer,
    config: *const EcTttPlayerConfig,
    seed: u64,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let c = unsafe { arg(config)? };
        opponent(c.kind, c.simulations, c.p)?;
        let mcts = MctsConfig::with_simulations(c.simulations);
        let kind = match c.kind {
            EC_PLAYER_RANDOM => Kind::Random(RandomPlayer::new()),
            EC_PLAYER_MINIMAX => Kind::Minimax(Minimax::new()),
            EC_PLAYER_MCTS => Kind::Mcts(Mcts::new(mcts)?),
            EC_PLAYER_NOISY_MCTS => Kind::Noisy(NoisyMcts::new(mcts, c.p)?),
            _ => return Err(EcStatus::OutOfRange),
        };
        // SAFETY: the caller's contract.
        unsafe { object::init(player, Player { kind, rng: Rng::new(seed) }) }
    })())
}

/// The move of the player with `mark` (1 agent, 2 opponent) on `board` (9 digits '0'/'1'/'2',
/// `len` must be 9), into `*position`. `EC_STATUS_EPISODE_OVER` on a finished board.
///
/// # Safety
/// `player` must be null or point to an `EcTttPlayer`, `board` to `len` bytes, `position` to
/// a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_ttt_player_choose(
    player: *mut EcTttPlayer,
    board: *const c_char,
    len: usize,
    mark: u32,
    position: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (p, board, position) =
            unsafe { (object::get_mut(player)?, text_arg(board, len)?, out(position)?) };
        let board = Board::parse(board)?;
        let mark = Mark::from_value(u8::try_from(mark).map_err(|_| EcStatus::OutOfRange)?)?;
        let mut rng = p.rng.clone();
        *position = p.player().choose(&board, mark, &mut rng)?;
        p.rng = rng;
        Ok(())
    })())
}
