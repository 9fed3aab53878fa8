//! Sweep files: a grid of settings expanded into named runs, each split into shards.
//!
//! ```toml
//! command = "eval"            # eval | frequency-bias | knowing-doing
//! out = "runs/sweep"          # run R is merged into out/R; its shards go to out/shards/R/I-of-N
//! shards = 4                  # shards per run (fewer when a run has fewer episodes/contexts)
//!
//! [base]                      # every run: the command's flags without the dashes
//! env = "mab"
//! episodes = 64
//! agent = ["ucb", "greedy"]   # a list repeats the flag: --agent ucb --agent greedy
//!
//! [grid]                      # every combination of these values is one run
//! arms = [5, 10]
//! sigma = [0.1, 1.0]          # -> runs arms-5_sigma-0.1, arms-5_sigma-1.0, arms-10_sigma-0.1, ...
//! ```
//!
//! A value `true` gives the bare flag (`summary = true` is `--summary`), `false` leaves it out.
//! A grid value that is itself a list gives a run with the repeated flag
//! (`agent = [["llm"], ["try-all:llm", "ucb"]]`). The same file is read as JSON when its name
//! ends in `.json`.
//!
//! This module reads and expands the file ([`SweepFile`], [`SweepRun`]); which flags are valid,
//! how many items each run has and so how many shards, and running them, are the command
//! line's (`greedy sweep`).

pub mod file;
pub mod grid;

pub use file::{SweepCommand, SweepFile};
pub use grid::SweepRun;

use std::path::{Path, PathBuf};

use crate::shard::Shard;

/// Where a run's shard directories go: `out/shards/<run>/<I>-of-<N>`.
pub fn shard_dir(out: &Path, run: &str, shard: Shard) -> PathBuf {
    out.join(SHARDS_DIR).join(run).join(format!("{}-of-{}", shard.index, shard.count))
}

/// Where a run is merged: `out/<run>`.
pub fn run_dir(out: &Path, run: &str) -> PathBuf {
    out.join(run)
}

/// The directory under `out` that holds the shards.
pub const SHARDS_DIR: &str = "shards";

/// Names under `out` that are not runs: the shards, and the cluster launchers' files
/// (`greedy sweep slurm` writes `out/slurm/`, `greedy sweep k8s` `out/k8s/`).
pub const RESERVED_NAMES: &[&str] = &[SHARDS_DIR, "slurm", "k8s"];
