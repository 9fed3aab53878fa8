//! Running a model from the command line: loading ([`load_engine`]), `greedy logits`,
//! `greedy generate` ([`commands`]) and the LLM agent of `greedy eval` ([`agent`]).
//!
//! Everything goes through [`generate::Engine`] (the GPU engine of `gpu_trainer::generate`).

pub mod agent;
pub mod commands;

/// The engine: the GPU Gemma forward with a batched KV cache.
pub use gpu_trainer::generate;

use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use generate::{Engine, LoadOptions, WeightDType};
use gpu_trainer::model::GemmaTokenizer;

/// Weight precision on the device (`--dtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DTypeArg {
    /// As stored in the checkpoint.
    #[default]
    Auto,
    F32,
    F16,
    Bf16,
}

impl From<DTypeArg> for WeightDType {
    fn from(d: DTypeArg) -> Self {
        match d {
            DTypeArg::Auto => WeightDType::Auto,
            DTypeArg::F32 => WeightDType::F32,
            DTypeArg::F16 => WeightDType::F16,
            DTypeArg::Bf16 => WeightDType::BF16,
        }
    }
}

/// The model flags shared by `logits`, `generate` and `bench`.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Model directory: config.json, *.safetensors (or model.safetensors.index.json) and,
    /// for text input and output, tokenizer.json.
    #[arg(long, value_name = "DIR")]
    pub model: std::path::PathBuf,
    /// Weight precision on the GPU.
    #[arg(long, value_enum, default_value_t = DTypeArg::Auto)]
    pub dtype: DTypeArg,
    /// GPU adapter: index or name substring (see GREEDY_ADAPTER); default: the first high-performance one.
    #[arg(long, value_name = "NAME|INDEX")]
    pub adapter: Option<String>,
}

/// Loads the model of `dir`, with errors that say what is missing.
pub fn load_engine(dir: &Path, dtype: DTypeArg, adapter: Option<String>) -> Result<Engine> {
    if !dir.exists() {
        bail!("--model {}: no such directory", dir.display());
    }
    if !dir.is_dir() {
        bail!("--model {}: not a directory (expected one with config.json and *.safetensors)", dir.display());
    }
    if !dir.join("config.json").is_file() {
        bail!(
            "--model {}: no config.json in it (expected a HuggingFace checkpoint directory)",
            dir.display()
        );
    }
    let opts = LoadOptions { dtype: dtype.into(), adapter };
    Engine::load(dir, &opts).with_context(|| format!("loading the model in {}", dir.display()))
}

/// The tokenizer of the engine, or an error naming `flag` and suggesting `--ids`.
pub fn require_tokenizer<'e>(engine: &'e Engine, dir: &Path, flag: &str) -> Result<&'e GemmaTokenizer> {
    if let Some(e) = engine.tokenizer_error() {
        bail!(
            "{flag} needs the tokenizer, and it does not load: {e} (token ids work without it: --ids 2,17,5)"
        );
    }
    engine.tokenizer().ok_or_else(|| {
        anyhow::anyhow!(
            "{flag} needs a tokenizer, and {} has no tokenizer.json: pass token ids with --ids instead (e.g. --ids 2,17,5)",
            dir.display()
        )
    })
}

/// Parses `--ids 2,17,5` (commas and/or spaces) and checks each id is below `vocab`.
pub fn parse_ids(text: &str, vocab: usize) -> Result<Vec<u32>> {
    let mut ids = Vec::new();
    for part in text.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()) {
        let id: u32 = part.parse().map_err(|_| {
            anyhow::anyhow!("invalid value '{part}' in --ids: not a token id (a non-negative integer)")
        })?;
        if id as usize >= vocab {
            bail!(
                "invalid value {id} in --ids: the model's vocabulary has {vocab} tokens (ids 0..={})",
                vocab - 1
            );
        }
        ids.push(id);
    }
    if ids.is_empty() {
        bail!("--ids is empty: give at least one token id, e.g. --ids 2,17,5");
    }
    Ok(ids)
}

/// Checks tokenizer output against the model's vocabulary (a tokenizer from another model).
pub fn check_vocab(ids: &[u32], vocab: usize) -> Result<()> {
    if let Some(&bad) = ids.iter().find(|&&i| i as usize >= vocab) {
        bail!(
            "the tokenizer produced id {bad}, but the model's vocabulary has {vocab} tokens: tokenizer.json does not belong to this model"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_check() {
        assert_eq!(parse_ids("2,17, 5", 256).unwrap(), vec![2, 17, 5]);
        let e = parse_ids("2,x", 256).unwrap_err().to_string();
        assert!(e.contains("'x'") && e.contains("--ids"), "{e}");
        let e = parse_ids("2,256", 256).unwrap_err().to_string();
        assert!(e.contains("256") && e.contains("vocabulary"), "{e}");
        assert!(parse_ids(" , ", 256).is_err());
    }
}
