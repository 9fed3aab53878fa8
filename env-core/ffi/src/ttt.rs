//! `ec_ttt_*`: tic-tac-toe; the agent plays 1, the configured opponent (random, minimax, MCTS,
//! noisy MCTS) replies with 2 (SPEC section 2).
//!
//! The environment is env-core's `TicTacToe<Opponent>`: an MCTS opponent builds its search
//! arena (2048 nodes of 16 bytes) on the stack for each move, so budget 32 KiB of stack for
//! it; the `EcTttPlayer` objects keep theirs inside the object instead.

use core::ffi::c_char;

use env_core::ttt::{FirstMover, Opponent, Outcome, TicTacToe, TttConfig};
use env_core::Environment;

use crate::object::{self, Storage};
use crate::status::{to_status, EcStatus};
use crate::text::{arg, out, slice_out, write_text};

/// 8-byte words of an [`EcTtt`].
pub const EC_TTT_WORDS: usize = 16;

/// Bytes of an [`EcTtt`] (`sizeof`).
pub const EC_TTT_SIZE: usize = EC_TTT_WORDS * 8;

/// A tic-tac-toe game against an opponent, in caller storage.
#[repr(C)]
pub struct EcTtt {
    /// Opaque: written and read by the library only.
    pub opaque: [u64; EC_TTT_WORDS],
}

impl Storage for EcTtt {
    type Inner = TicTacToe<Opponent>;
    const TAG: u64 = 0x4543_5F54_5454_0005;
}

/// A uniformly random player.
pub const EC_PLAYER_RANDOM: u32 = 0;
/// Perfect play (alpha-beta minimax; random among the best moves).
pub const EC_PLAYER_MINIMAX: u32 = 1;
/// UCT Monte-Carlo tree search with `simulations` simulations.
pub const EC_PLAYER_MCTS: u32 = 2;
/// MCTS that plays a random move with probability `p` (0.5 in the paper).
pub const EC_PLAYER_NOISY_MCTS: u32 = 3;

/// The agent moves first.
pub const EC_FIRST_AGENT: u32 = 0;
/// The opponent moves first (during reset).
pub const EC_FIRST_OPPONENT: u32 = 1;
/// The agent moves first on even episode seeds, the opponent on odd ones.
pub const EC_FIRST_ALTERNATE: u32 = 2;

/// The game is still going.
pub const EC_OUTCOME_NONE: u32 = 0;
/// The agent won (+1).
pub const EC_OUTCOME_WIN: u32 = 1;
/// A draw (0).
pub const EC_OUTCOME_DRAW: u32 = 2;
/// The agent lost (-1).
pub const EC_OUTCOME_LOSS: u32 = 3;

/// The opponent and who starts.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EcTttConfig {
    /// `EC_PLAYER_RANDOM`, `EC_PLAYER_MINIMAX`, `EC_PLAYER_MCTS` or `EC_PLAYER_NOISY_MCTS`.
    pub opponent: u32,
    /// MCTS simulations per move (1..=1000000), for the MCTS opponents.
    pub simulations: u32,
    /// Noisy MCTS: probability of a random move (0..=1).
    pub p: f64,
    /// `EC_FIRST_AGENT`, `EC_FIRST_OPPONENT` or `EC_FIRST_ALTERNATE`.
    pub first: u32,
}

/// What one step returns.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EcTttStep {
    /// +1 / 0 / -1 at the end of the game, else 0.
    pub reward: f64,
    /// The opponent's reply (0..=8), or -1 when the agent's move ended the game.
    pub opponent_move: i32,
    /// `EC_OUTCOME_*`.
    pub outcome: u32,
    /// 1 when the game is over.
    pub terminated: u8,
}

/// The env-core opponent for `kind`.
pub(crate) fn opponent(kind: u32, simulations: u32, p: f64) -> Result<Opponent, EcStatus> {
    let o = match kind {
        EC_PLAYER_RANDOM => Opponent::Random,
        EC_PLAYER_MINIMAX => Opponent::Minimax,
        EC_PLAYER_MCTS => Opponent::Mcts { simulations },
        EC_PLAYER_NOISY_MCTS => Opponent::NoisyMcts { simulations, p },
        _ => return Err(EcStatus::OutOfRange),
    };
    o.validate()?;
    Ok(o)
}

fn outcome_code(o: Option<Outcome>) -> u32 {
    match o {
        None => EC_OUTCOME_NONE,
        Some(Outcome::Win) => EC_OUTCOME_WIN,
        Some(Outcome::Draw) => EC_OUTCOME_DRAW,
        Some(Outcome::Loss) => EC_OUTCOME_LOSS,
    }
}

/// Initialises `ttt` with `config`, reset with episode seed 0.
///
/// # Safety
/// `ttt` must point to `EC_TTT_SIZE` writable bytes, `config` to an `EcTttConfig`.
#[no_mangle]
pub unsafe extern "C" fn ec_ttt_init(ttt: *mut EcTtt, config: *const EcTttConfig) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let c = unsafe { arg(config)? };
        let first = match c.first {
            EC_FIRST_AGENT => FirstMover::Agent,
            EC_FIRST_OPPONENT => FirstMover::Opponent,
            EC_FIRST_ALTERNATE => FirstMover::Alternate,
            _ => return Err(EcStatus::OutOfRange),
        };
        let env = TicTacToe::new(TttConfig { opponent: opponent(c.opponent, c.simulations, c.p)?, first })?;
        // SAFETY: the caller's contract.
        unsafe { object::init(ttt, env) }
    })())
}

/// Starts a new game; `seed` fixes the opponent's play (and who starts, for
/// `EC_FIRST_ALTERNATE`). When the opponent starts it moves here.
///
/// # Safety
/// `ttt` must be null or point to an `EcTtt`.
#[no_mangle]
pub unsafe extern "C" fn ec_ttt_reset(ttt: *mut EcTtt, seed: u64) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        unsafe { object::get_mut(ttt)? }.reset(seed)?;
        Ok(())
    })())
}

/// Plays the agent's mark at `position` (0..=8), then the opponent's reply.
/// `EC_STATUS_INVALID_ACTION` (position > 8), `EC_STATUS_ILLEGAL_MOVE` (taken cell) and
/// `EC_STATUS_EPISODE_OVER` change nothing.
///
/// # Safety
/// `ttt` must be null or point to an `EcTtt`, `result` to an `EcTttStep`.
#[no_mangle]
pub unsafe extern "C" fn ec_ttt_step(ttt: *mut EcTtt, position: usize, result: *mut EcTttStep) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (t, result) = unsafe { (object::get_mut(ttt)?, out(result)?) };
        let tr = t.step(position)?;
        *result = EcTttStep {
            reward: tr.reward,
            opponent_move: tr.info.opponent_move.and_then(|m| i32::try_from(m).ok()).unwrap_or(-1),
            outcome: outcome_code(tr.info.outcome),
            terminated: u8::from(tr.terminated),
        };
        Ok(())
    })())
}

/// The board as 9 digits ('0' empty, '1' agent, '2' opponent), NUL-terminated (`cap` >= 10).
///
/// # Safety
/// `ttt` must be null or point to an `EcTtt`, `buf` to `cap` bytes, `len` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_ttt_board(
    ttt: *const EcTtt,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let t = unsafe { object::get(ttt)? };
        let board = *t.board();
        // SAFETY: the caller's contract.
        unsafe { write_text(buf, cap, len, |w| Ok(w.write_str(board.as_str())?)) }
    })())
}

/// The agent's legal moves (free cells, increasing; none once the game is over) into
/// `moves[0..n]`; `*n` gets their number. `EC_STATUS_BUFFER_TOO_SMALL` (with `*n` set) when
/// `cap < n`; 9 always suffices.
///
/// # Safety
/// `ttt` must be null or point to an `EcTtt`, `moves` to `cap` bytes, `n` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_ttt_legal_moves(
    ttt: *const EcTtt,
    moves: *mut u8,
    cap: usize,
    n: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (t, n) = unsafe { (object::get(ttt)?, out(n)?) };
        let legal = t.legal_actions();
        // SAFETY: the caller's contract.
        let dst = unsafe { slice_out(moves, cap)? };
        let Some(dst) = dst.get_mut(..legal.len()) else {
            *n = legal.len();
            return Err(EcStatus::BufferTooSmall);
        };
        dst.copy_from_slice(&legal);
        *n = legal.len();
        Ok(())
    })())
}

/// The game's outcome so far (`EC_OUTCOME_NONE` while it goes on).
///
/// # Safety
/// `ttt` must be null or point to an `EcTtt`, `outcome` to a `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_ttt_outcome(ttt: *const EcTtt, outcome: *mut u32) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (t, outcome) = unsafe { (object::get(ttt)?, out(outcome)?) };
        *outcome = outcome_code(t.outcome());
        Ok(())
    })())
}

/// The opponent's latest move in this game (its opening move right after a reset when it
/// starts), or -1.
///
/// # Safety
/// `ttt` must be null or point to an `EcTtt`, `position` to an `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_ttt_last_opponent_move(ttt: *const EcTtt, position: *mut i32) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (t, position) = unsafe { (object::get(ttt)?, out(position)?) };
        *position = t.last_opponent_move().and_then(|m| i32::try_from(m).ok()).unwrap_or(-1);
        Ok(())
    })())
}
