//! The model flags shared by the commands that run a model ([`ModelArgs`]), loading it with
//! errors that name `--model` ([`load_engine`]), and reading `--ids`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::Args;
use gpu_trainer::generate::{Engine, WeightDType};
use gpu_trainer::model::GemmaTokenizer;

/// The model flags shared by `logits`, `generate` and `bench`.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Model directory: config.json, *.safetensors (or model.safetensors.index.json) and,
    /// for text input and output, tokenizer.json.
    #[arg(long, value_name = "DIR")]
    pub model: std::path::PathBuf,
    /// Weight precision on the GPU.
    #[arg(long, value_enum, default_value_t = WeightDType::Auto)]
    pub dtype: WeightDType,
    /// GPU adapter: index or name substring (see GREEDY_ADAPTER); default: the first high-performance one.
    #[arg(long, value_name = "NAME|INDEX")]
    pub adapter: Option<String>,
}

/// Loads the model of `dir` (`--model`), with errors that say what is missing.
pub fn load_engine(dir: &Path, dtype: WeightDType, adapter: Option<String>) -> Result<Engine> {
    gpu_trainer::agent::load_model(dir, dtype, adapter).with_context(|| format!("--model {}", dir.display()))
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
