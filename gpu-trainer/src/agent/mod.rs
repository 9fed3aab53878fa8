//! The LLM agent: a language model acting in env-core's environments through their text
//! prompts (SPEC sections 3 and 6).
//!
//! - [`settings`]: how it reads and answers ([`AgentSettings`]: chain of thought, summary,
//!   context randomization, chat or plain text, answer prefix, self-consistency,
//!   self-correction).
//! - [`policy`]: what answers ([`Policy`]; the GPU [`Engine`] is one): completions with their
//!   token ids and sampling log-probs.
//! - [`ask`]: one step's answers for every running episode in one batch, with self-consistency
//!   and self-correction.
//! - [`task`]: one episode of an environment as the agent meets it ([`Task`]); [`mab`], [`cb`]
//!   and [`ttt`] implement it (the bandit's exploration mechanisms come from env-core).
//! - [`rollout`]: THE lock-step loop over many episodes of any task, returning per step what RL
//!   learns from ([`StepRecord`]) and per episode what evaluation reports.
//! - [`answers`]: what an episode's record keeps of the answers.

pub mod answers;
pub mod ask;
pub mod cb;
pub mod mab;
pub mod policy;
pub mod record;
pub mod rollout;
pub mod settings;
pub mod task;
pub mod ttt;

use std::path::Path;

use anyhow::{Context, Result, bail};

pub use ask::{CORRECTION_REQUEST, Decision, correction_prompt, majority_vote};
pub use policy::{Completion, Policy, SampleOptions};
pub use record::StepRecord;
pub use rollout::{AgentTasks, Episode};
pub use settings::AgentSettings;
pub use task::{Outcome, Task, Turn};

use crate::generate::{Engine, LoadOptions, WeightDType};

/// Loads the model directory `dir` for the agent, with errors that say what is missing; the
/// agent reads and writes text, so its tokenizer must load.
pub fn load_engine(dir: &Path, dtype: WeightDType) -> Result<Engine> {
    let engine = load_model(dir, dtype, None)?;
    if let Some(e) = engine.tokenizer_error() {
        bail!("the LLM agent needs the tokenizer, and it does not load: {e}");
    }
    if engine.tokenizer().is_none() {
        bail!(
            "the LLM agent needs a tokenizer: {} has no tokenizer.json (the agent reads and writes text)",
            dir.display()
        );
    }
    Ok(engine)
}

/// Loads the model directory `dir` (config.json, safetensors, optionally tokenizer.json) on the
/// adapter `adapter` (None: `GREEDY_ADAPTER`, else the first high-performance one), with errors
/// that say what is missing.
pub fn load_model(dir: &Path, dtype: WeightDType, adapter: Option<String>) -> Result<Engine> {
    if !dir.exists() {
        bail!("model directory {}: no such directory", dir.display());
    }
    if !dir.is_dir() {
        bail!(
            "model directory {}: not a directory (expected one with config.json and *.safetensors)",
            dir.display()
        );
    }
    if !dir.join("config.json").is_file() {
        bail!(
            "model directory {}: no config.json in it (expected a HuggingFace checkpoint directory)",
            dir.display()
        );
    }
    Engine::load(dir, &LoadOptions { dtype, adapter })
        .with_context(|| format!("loading the model in {}", dir.display()))
}
