//! `ec_mab_prompt`, `ec_cb_prompt`, `ec_ttt_prompt`: the text an LLM sees (SPEC section 3),
//! rendered by env-core into a caller buffer.
//!
//! Buffers: the text is NUL-terminated; `*len` gets its length without the NUL. When `cap` is
//! not more than that length the call returns `EC_STATUS_BUFFER_TOO_SMALL`, sets `*len` to the
//! needed length and leaves the buffer untouched (`buf` may be null with `cap` 0 to ask).

use core::ffi::c_char;

use env_core::cb::UserContext;
use env_core::prompt::{
    write_cb_prompt, write_mab_prompt, write_ttt_prompt, CbPromptSpec, ChatFormat, MabPromptSpec, OutputMode,
    TttPromptSpec,
};
use env_core::UcbRule;

use crate::cb::EcCb;
use crate::mab::EcMab;
use crate::object;
use crate::status::{to_status, EcStatus};
use crate::text::{arg, out, slice_arg, write_text};
use crate::ttt::EcTtt;

/// Think step by step, then `ACTION=X` (the paper's default).
pub const EC_OUTPUT_CHAIN_OF_THOUGHT: u32 = 0;
/// Answer `ACTION=X` only.
pub const EC_OUTPUT_ACTION_ONLY: u32 = 1;
/// The knowing-doing probe: write the UCB rule and every arm's value in `<ucb_values>`, then
/// act (uses `rule` and `rule_param`).
pub const EC_OUTPUT_KNOWING_DOING: u32 = 2;
/// The paper's UCB rule mean + c * sqrt(1/N); `rule_param` is c.
pub const EC_RULE_INVERSE_SQRT: u32 = 0;
/// mean + sqrt(alpha * ln t / N); `rule_param` is alpha.
pub const EC_RULE_LOG: u32 = 1;
/// Gemma's instruction-tuned chat turns around the prompt.
pub const EC_CHAT_GEMMA: u32 = 0;
/// No chat turns (base models).
pub const EC_CHAT_PLAIN: u32 = 1;

/// Most history steps a contextual-bandit prompt can show.
pub const EC_CB_MAX_HISTORY: usize = 128;

/// How a prompt is written. `ec_prompt_options_default` fills the paper's defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EcPromptOptions {
    /// `EC_OUTPUT_CHAIN_OF_THOUGHT`, `EC_OUTPUT_ACTION_ONLY` or `EC_OUTPUT_KNOWING_DOING`.
    pub output: u32,
    /// For the knowing-doing probe: `EC_RULE_INVERSE_SQRT` or `EC_RULE_LOG`.
    pub rule: u32,
    /// The rule's parameter (c or alpha).
    pub rule_param: f64,
    /// `EC_CHAT_GEMMA` or `EC_CHAT_PLAIN`.
    pub chat: u32,
    /// Bandit prompts: 1 adds the per-arm summary (count, mean) after the history.
    pub summary: u8,
    /// Tic-tac-toe prompts: 1 lists the legal moves (the default), 0 does not.
    pub show_legal_moves: u8,
}

impl Default for EcPromptOptions {
    fn default() -> Self {
        EcPromptOptions {
            output: EC_OUTPUT_CHAIN_OF_THOUGHT,
            rule: EC_RULE_INVERSE_SQRT,
            rule_param: 1.0,
            chat: EC_CHAT_GEMMA,
            summary: 0,
            show_legal_moves: 1,
        }
    }
}

impl EcPromptOptions {
    fn output_mode(&self) -> Result<OutputMode, EcStatus> {
        Ok(match self.output {
            EC_OUTPUT_CHAIN_OF_THOUGHT => OutputMode::ChainOfThought,
            EC_OUTPUT_ACTION_ONLY => OutputMode::ActionOnly,
            EC_OUTPUT_KNOWING_DOING => {
                let rule = match self.rule {
                    EC_RULE_INVERSE_SQRT => UcbRule::InverseSqrtCount { c: self.rule_param },
                    EC_RULE_LOG => UcbRule::LogTime { alpha: self.rule_param },
                    _ => return Err(EcStatus::OutOfRange),
                };
                rule.validate()?;
                OutputMode::KnowingDoing(rule)
            }
            _ => return Err(EcStatus::OutOfRange),
        })
    }

    fn chat_format(&self) -> Result<ChatFormat<'static>, EcStatus> {
        match self.chat {
            EC_CHAT_GEMMA => Ok(ChatFormat::GEMMA),
            EC_CHAT_PLAIN => Ok(ChatFormat::PLAIN),
            _ => Err(EcStatus::OutOfRange),
        }
    }
}

fn flag(v: u8) -> Result<bool, EcStatus> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(EcStatus::OutOfRange),
    }
}

/// Fills `*options` with the defaults: chain of thought, the paper's UCB rule (c = 1), Gemma
/// chat turns, no summary, legal moves listed.
///
/// # Safety
/// `options` must be null or point to an `EcPromptOptions`.
#[no_mangle]
pub unsafe extern "C" fn ec_prompt_options_default(options: *mut EcPromptOptions) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        *unsafe { out(options)? } = EcPromptOptions::default();
        Ok(())
    })())
}

/// The bandit prompt after the history `actions[0..n]` / `rewards[0..n]` (the next step is
/// `n`), with the bandit's labels, into `buf`.
///
/// # Safety
/// `mab` must be null or point to an `EcMab`; `options` to options; `actions` and `rewards` to
/// `n` values each (null when `n` is 0); `buf` to `cap` bytes; `len` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_mab_prompt(
    mab: *const EcMab,
    options: *const EcPromptOptions,
    actions: *const usize,
    rewards: *const f64,
    n: usize,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (m, o) = unsafe { (object::get(mab)?, arg(options)?) };
        // SAFETY: the caller's contract.
        let (actions, rewards) = unsafe { (slice_arg(actions, n)?, slice_arg(rewards, n)?) };
        let spec = MabPromptSpec {
            output: o.output_mode()?,
            chat: o.chat_format()?,
            summary: flag(o.summary)?,
            ..MabPromptSpec::new(m.config())
        };
        let labels = m.labels();
        // SAFETY: the caller's contract.
        unsafe {
            write_text(buf, cap, len, |mut w| write_mab_prompt(&mut w, &spec, labels, actions, rewards))
        }
    })())
}

/// The tic-tac-toe prompt: the history (`states` holds `n` boards of 9 cell values 0/1/2, the
/// board before each move; `actions` the `n` moves; `rewards` the `n` rewards), then the
/// game's current board and legal moves, into `buf`.
///
/// # Safety
/// `ttt` must be null or point to an `EcTtt`; `options` to options; `states` to `9 * n` bytes,
/// `actions` to `n` bytes, `rewards` to `n` doubles (null when `n` is 0); `buf` to `cap` bytes;
/// `len` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_ttt_prompt(
    ttt: *const EcTtt,
    options: *const EcPromptOptions,
    states: *const u8,
    actions: *const u8,
    rewards: *const f64,
    n: usize,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (t, o) = unsafe { (object::get(ttt)?, arg(options)?) };
        // SAFETY: the caller's contract ([u8; 9] has the alignment of u8).
        let (states, actions, rewards) = unsafe {
            (slice_arg(states.cast::<[u8; 9]>(), n)?, slice_arg(actions, n)?, slice_arg(rewards, n)?)
        };
        let spec = TttPromptSpec {
            output: o.output_mode()?,
            chat: o.chat_format()?,
            show_legal_moves: flag(o.show_legal_moves)?,
            ..TttPromptSpec::default()
        };
        let board = t.board().values();
        let legal = t.legal_actions();
        // SAFETY: the caller's contract.
        unsafe {
            write_text(buf, cap, len, |mut w| {
                write_ttt_prompt(&mut w, &spec, states, actions, rewards, &board, &legal)
            })
        }
    })())
}

/// The contextual-bandit prompt: the movies, the history (`users[i]` the user index shown at
/// step i, `actions[i]` the movie, `rewards[i]` the reward; `n` <= `EC_CB_MAX_HISTORY`), then
/// the environment's current user, into `buf`.
///
/// # Safety
/// `cb` must be null or point to an `EcCb`; `options` to options; `users`, `actions`, `rewards`
/// to `n` values each (null when `n` is 0); `buf` to `cap` bytes; `len` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_cb_prompt(
    cb: *const EcCb,
    options: *const EcPromptOptions,
    users: *const usize,
    actions: *const usize,
    rewards: *const f64,
    n: usize,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (c, o) = unsafe { (object::get(cb)?, arg(options)?) };
        // SAFETY: the caller's contract.
        let (users, actions, rewards) =
            unsafe { (slice_arg(users, n)?, slice_arg(actions, n)?, slice_arg(rewards, n)?) };
        if n > EC_CB_MAX_HISTORY {
            return Err(EcStatus::CapacityExceeded);
        }
        let empty = UserContext { age: 0, gender: "", occupation: "", location: "", preferences: &[] };
        let mut shown = [empty; EC_CB_MAX_HISTORY];
        for (s, &u) in shown.iter_mut().zip(users) {
            *s = c.user(u)?;
        }
        let shown = shown.get(..n).ok_or(EcStatus::CapacityExceeded)?;
        let current = c.user(c.env().current_user_index())?;
        let (titles, k) = c.titles();
        let titles = titles.get(..k).ok_or(EcStatus::OutOfRange)?;
        let spec = CbPromptSpec {
            horizon: c.env().horizon(),
            output: o.output_mode()?,
            chat: o.chat_format()?,
            ..CbPromptSpec::default()
        };
        // SAFETY: the caller's contract.
        unsafe {
            write_text(buf, cap, len, |mut w| {
                write_cb_prompt(&mut w, &spec, titles, shown, actions, rewards, &current)
            })
        }
    })())
}
