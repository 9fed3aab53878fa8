//! # env-core
//!
//! The deterministic, allocation-free core of `greedy`: the decision problems an LLM agent is put
//! in front of (multi-armed bandits, a MovieLens-style contextual bandit, tic-tac-toe), the classic
//! agents it is compared with, the text it reads (prompt serialization) and writes (answer
//! parsing), and the diagnostics of how it decides (regret, coverage, greediness, frequency bias,
//! the knowing-doing gap).
//!
//! `#![no_std]` with no allocator: every buffer has a fixed capacity, every fallible operation
//! returns [`Result`], and the same seed gives bit-identical trajectories on every target (the
//! crate builds for `thumbv7em-none-eabihf`). The facts implemented here are in the project's
//! `SPEC.md`, sections 2-4 and 6-7.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod agents;
pub mod cb;
pub mod env;
pub mod error;
pub mod labels;
pub mod mab;
pub mod metrics;
pub mod parse;
pub mod prompt;
pub mod rng;
pub mod stats;
pub mod ttt;

pub use env::{Environment, Transition};
pub use error::{Error, Result};
pub use labels::{Label, LabelSet, LabelStyle};
pub use mab::{ArmDistribution, ArmInfo, MabConfig, MultiArmedBandit};
pub use rng::Rng;
pub use stats::{ArmStats, UcbRule};

/// Largest number of arms (actions) any environment of the crate supports.
pub const MAX_ARMS: usize = 32;
