//! Host-side library of the `greedy` command.
//!
//! - [`cli`]: the command line (clap), one file per subcommand's arguments.
//! - [`eval`]: running baseline agents on environments over many seeded episodes, in parallel.
//! - [`report`]: the terminal table, the JSON summaries and the per-episode JSONL.
//! - [`plot`]: curves with 95% confidence bands, as PNG and SVG.
//! - [`prompt`]: the exact context an LLM agent reads (`greedy prompt`).
//! - [`io`]: atomic file writes.
//! - [`llm`]: running a model: `greedy logits`, `greedy generate`, the LLM agent of `greedy eval`.
//! - [`diagnose`]: `greedy diagnose`: the frequency-bias and knowing-doing studies on a model.
//! - [`bench`]: `greedy bench` (inference tokens/s, matmul GFLOP/s, environment steps/s).
//! - [`movielens`]: loading MovieLens-1M into contextual-bandit tables.
//! - [`demo`]: `greedy demo`, training a small model from scratch and evaluating it, with a report.
//! - [`signals`]: Ctrl-C / SIGTERM: stop a long run cleanly, a second signal at once.
//! - [`train`]: supervised fine-tuning (expert data, tokenizer, fresh tiny models, the loop).

pub mod bench;
pub mod cli;
pub mod cmdline;
pub mod demo;
pub mod diagnose;
pub mod eval;
pub mod io;
pub mod llm;
pub mod movielens;
pub mod plot;
pub mod prompt;
pub mod report;
pub mod signals;
pub mod train;
