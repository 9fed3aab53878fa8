//! `greedy tokenize --model DIR "text"`: token ids of a text with the model's tokenizer.json.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use gpu_trainer::model::GemmaTokenizer;
use serde_json::json;

/// `greedy tokenize` arguments.
#[derive(Debug, Clone, Args)]
#[command(after_help = TOKENIZE_EXAMPLES)]
pub struct TokenizeArgs {
    /// Model directory with tokenizer.json.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The text (special tokens such as <start_of_turn> written in it become their ids).
    #[arg(value_name = "TEXT")]
    pub text: String,
    /// Without the special tokens the tokenizer adds (Gemma: the leading <bos>).
    #[arg(long)]
    pub no_special: bool,
    /// JSON on stdout: {"ids": [...]}.
    #[arg(long)]
    pub json: bool,
}

const TOKENIZE_EXAMPLES: &str = "\
Examples:
  greedy tokenize --model models/gemma-3-270m \"ACTION=2\" --json
  greedy tokenize --model models/gemma-3-270m \"<start_of_turn>user\" --no-special";

/// Runs `greedy tokenize`; returns what to print (the ids, or with --json `{"ids": [...]}`;
/// as text, one line `id\ttoken` per token).
pub fn run(args: &TokenizeArgs) -> Result<String> {
    let tok = GemmaTokenizer::from_dir(&args.model)
        .with_context(|| format!("--model {}: loading tokenizer.json", args.model.display()))?;
    let ids = tok.encode(&args.text, !args.no_special)?;
    if args.json {
        return Ok(serde_json::to_string(&json!({ "ids": ids }))? + "\n");
    }
    let mut out = String::new();
    for id in ids {
        out.push_str(&format!("{id}\t{:?}\n", tok.id_to_token(id).unwrap_or_default()));
    }
    Ok(out)
}
