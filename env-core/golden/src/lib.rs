//! # env-core-golden
//!
//! env-core's golden trajectories as digests, in one `no_std`, allocation-free module that
//! runs unchanged on the host (`cargo run -p env-core-golden --example host-digests`) and on a
//! Cortex-M4 / Cortex-M3 in QEMU (`env-core/firmware`, the `golden` binary). Both print one line
//! per scenario, `name digest values`; tools/check-firmware.sh puts them side by side and fails
//! on any difference.
//!
//! A digest is FNV-1a 64 over the little-endian bytes of every value in order: each `u32`
//! (actions, users, moves) and `f64` (rewards, regrets, means, by bit pattern), and the raw
//! bytes of prompts and boards (see [`digest`]). The scenarios ([`scenarios`]) use env-core's
//! public API only, feeding a [`Sink`]: the digest on both machines, and in the host tests a
//! recorder whose values are compared with the goldens pinned in env-core's own tests.
//!
//! | module | what lives there |
//! |---|---|
//! | [`digest`] | [`Sink`], FNV-1a 64 ([`Fnv64`]), the streaming hasher for prompts |
//! | [`scenarios`] | the seeded scenarios: MAB Gaussian / Bernoulli, CB synthetic, TTT, UCB regret, TTT vs MCTS, prompt |
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod digest;
pub mod scenarios;

pub use digest::{Fnv64, Sink};
pub use scenarios::{Report, run_all};
