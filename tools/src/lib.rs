//! The `greedy` command line (the library crate `gpu_trainer` does the work).
//!
//! - [`cli`]: one module per subcommand: flags (clap), how they become library settings, the
//!   handler.
//! - [`demo`]: `greedy demo`: a small model trained from scratch, evaluated, reported.
//! - [`report`]: the terminal tables, JSON lines, run files and the Markdown report.
//! - [`plot`]: figures (curves with confidence bands, training curves, the diagnostics').
//! - [`progress`]: progress bars on stderr for the library's long work.
//! - [`signals`]: Ctrl-C / SIGTERM: stop a long run cleanly, a second signal at once.
//! - [`io`]: atomic file writes and run directories replaced as a whole.
//! - [`cmdline`]: the command line as recorded in reports.
//! - [`cluster`]: the files a cluster engine takes to run a sweep (Slurm scripts, Kubernetes
//!   manifests).

pub mod cli;
pub mod cluster;
pub mod cmdline;
pub mod demo;
pub mod io;
pub mod plot;
pub mod progress;
pub mod report;
pub mod signals;
