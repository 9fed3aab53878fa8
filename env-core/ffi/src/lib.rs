//! # env-core-ffi
//!
//! The C ABI of [`env_core`]: what a C or C++ "firmware-like simulator" needs to step a bandit,
//! a contextual bandit or a tic-tac-toe game, run the baseline agents, show an LLM the prompt,
//! read its answer and score the episode. The header `include/env_core.h` is generated from
//! this crate by cbindgen (`tools/check-firmware.sh` fails when it is stale).
//!
//! ## Memory: caller-owned objects, initialised in place
//! There is no allocator. Every object (`EcMab`, `EcBanditAgent`, `EcCb`, `EcCbAgent`, `EcTtt`,
//! `EcTttPlayer`) is a C struct of opaque, 8-byte-aligned storage whose size is a header
//! constant (`EC_MAB_SIZE`, ...; `sizeof` and `_Alignof` work too, and `ec_object_size` /
//! `ec_object_align` tell the library's own view). The caller declares or allocates it anywhere
//! (stack, static, heap) and calls `ec_*_init` on it. An object is bound to its address: it
//! must not be moved or copied after init (a copy reports `EC_STATUS_MOVED`). See [`object`].
//!
//! ## Errors, never panics
//! Every function returns an [`EcStatus`]; `ec_status_name` / `ec_status_message` name it. A
//! null or misaligned pointer, an object that was not initialised (or is of another type), a
//! buffer that is too small, an out-of-range arm or position, a step after the episode ended,
//! an unknown label: each is an error code, and a failed call changes no object (the tests
//! compare the object's bytes before and after). A pointer with its length may be null only
//! when the length is 0.
//!
//! The crate never panics: it does not index without a check, unwrap or use arithmetic that
//! can overflow (clippy's `indexing_slicing`, `unwrap_used`, `expect_used`, `panic` and
//! `arithmetic_side_effects` lints are denied), and env-core itself returns errors for every
//! bad input. Nothing is caught at the boundary: should a bug panic anyway, a Rust panic cannot
//! unwind through an `extern "C"` function, so the process aborts (with `panic = "abort"` or
//! the `panic-handler` feature on bare metal, likewise). What the crate cannot check is a
//! pointer that is non-null and aligned but points to too little memory, or text that is not
//! as long as its length says: that is the caller's contract.
//!
//! | module | C functions |
//! |---|---|
//! | [`status`] | `EcStatus`, `ec_status_name`, `ec_status_message` |
//! | [`object`] | in-place storage, `ec_object_size`, `ec_object_align` |
//! | [`mab`] | `ec_mab_*`: multi-armed bandit (Gaussian / Bernoulli, labels) |
//! | [`bandit_agent`] | `ec_bandit_agent_*`: UCB, Thompson, epsilon-greedy, greedy, random (+ try-all, epsilon-explore) |
//! | [`cb`] | `ec_cb_*`: the synthetic MovieLens-style contextual bandit |
//! | [`cb_agent`] | `ec_cb_agent_*`: LinUCB, random |
//! | [`ttt`] | `ec_ttt_*`: tic-tac-toe against an opponent |
//! | [`ttt_player`] | `ec_ttt_player_*`: random, minimax, MCTS, noisy MCTS players |
//! | [`prompt`] | `ec_*_prompt`: the text an LLM sees, into a caller buffer |
//! | [`parse`] | `ec_*_parse_action`, `ec_mab_parse_ucb_values`: reading the answer |
//! | [`metrics`] | `ec_cumulative_regret`, `ec_coverage_curve`, `ec_suffix_failure`, ... |
#![no_std]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

// Hosted targets link std (its panic runtime); bare metal brings its own handler (feature).
#[cfg(not(target_os = "none"))]
extern crate std;

pub mod bandit_agent;
pub mod cb;
pub mod cb_agent;
pub mod mab;
pub mod metrics;
pub mod object;
pub mod parse;
pub mod prompt;
pub mod status;
mod text;
pub mod ttt;
pub mod ttt_player;

pub use bandit_agent::EcBanditAgent;
pub use cb::EcCb;
pub use cb_agent::EcCbAgent;
pub use mab::EcMab;
pub use status::EcStatus;
pub use ttt::EcTtt;
pub use ttt_player::EcTttPlayer;

#[cfg(all(feature = "panic-handler", target_os = "none"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // Unreachable by design (see the crate docs); halt rather than continue in a bad state.
    loop {
        core::hint::spin_loop();
    }
}
