//! How the LLM agent reads its prompts and answers (SPEC sections 3 and 6).

use std::path::PathBuf;

use env_core::prompt::{ChatFormat, OutputMode};

use crate::generate::WeightDType;

/// The LLM agent's settings (validated by whoever builds them).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSettings {
    /// Model directory (needs tokenizer.json).
    pub model: PathBuf,
    /// Weight precision.
    pub dtype: WeightDType,
    /// Generation budget per step (the paper's G).
    pub max_new_tokens: usize,
    /// Sampling temperature (0 = greedy).
    pub temperature: f32,
    /// Chain of thought (else: answer with `ACTION=X` only).
    pub cot: bool,
    /// Per-arm summary after the history.
    pub summary: bool,
    /// Permute the labels every step (context randomization).
    pub randomize: bool,
    /// Plain text, no chat turns (base models).
    pub base: bool,
    /// Appended to every prompt; the answer is read as this + the generated text (base models).
    pub answer_prefix: String,
    /// Store at most this many characters of each answer in the JSONL (None: all).
    pub answer_chars: Option<usize>,
    /// Tic-tac-toe: list the legal moves in the prompt.
    pub legal_moves: bool,
    /// Self-consistency: answers per prompt, majority vote (1 = a single answer).
    pub samples: usize,
    /// Self-correction: show the answer back with a request to check it; the second answer counts.
    pub self_correct: bool,
    /// Record each generated token's policy entropy (RL's `entropy` metric; costs a pass over
    /// every logits row).
    pub entropy: bool,
}

impl AgentSettings {
    /// Chain-of-thought or action-only output instruction.
    pub fn output(&self) -> OutputMode {
        if self.cot { OutputMode::ChainOfThought } else { OutputMode::ActionOnly }
    }

    /// Gemma chat turns, or plain text for base models.
    pub fn chat(&self) -> ChatFormat<'static> {
        if self.base { ChatFormat::PLAIN } else { ChatFormat::GEMMA }
    }
}
