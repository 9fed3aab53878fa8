//! Loading HuggingFace Gemma2 / Gemma3-text checkpoints: `config.json`
//! ([`config`]), safetensors weights ([`weights`]), `tokenizer.json` and the
//! chat template ([`tokenizer`]).
//!
//! Every error names the file it comes from and, where there is one, the
//! field or tensor: `config.json: field "num_key_value_heads" ...`.

pub mod config;
pub mod gemma;
pub mod names;
pub mod tokenizer;
pub mod weights;

pub use config::{Config, LayerConfig, LayerKind, ModelType};
pub use tokenizer::{GemmaTokenizer, check_vocab};
pub use weights::{DType, TensorView, Weights};

use std::fmt;
use std::path::Path;

/// An error while loading a model file; `Display` is `"{file}: {message}"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelError {
    /// the file (usually its name or path as given) the problem is in
    pub file: String,
    /// what is wrong, naming the field or tensor where there is one
    pub message: String,
}

impl ModelError {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self { file: file.into(), message: message.into() }
    }

    pub(crate) fn at(file: &Path, message: impl Into<String>) -> Self {
        Self::new(file.display().to_string(), message)
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for ModelError {}

pub type Result<T> = std::result::Result<T, ModelError>;
