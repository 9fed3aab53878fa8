//! Supervised fine-tuning (SPEC section 7): behaviour or thought cloning of the UCB expert, or
//! any prompt/target file.
//!
//! - [`data`]: the examples (the UCB expert's rationales, or a JSONL file);
//! - [`batch`]: tokenization with loss weights on the target, and the seeded data order;
//! - [`settings`]: the validated settings ([`SftSettings`]);
//! - [`start`]: where a run starts: a fresh model and tokenizer, a checkpoint, or the latest
//!   checkpoint of a run to resume ([`RunStart`]);
//! - [`steps`]: the loop (micro-batches, schedule, checkpoints, stop requests, exact resume);
//! - [`log`]: the per-step log (`log.jsonl`).

pub mod batch;
pub mod data;
pub mod log;
pub mod settings;
pub mod start;
pub mod steps;

pub use settings::SftSettings;
pub use start::{RunStart, SftOutcome, run_sft, run_sft_with};

#[cfg(test)]
mod tests;
