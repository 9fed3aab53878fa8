//! Arguments of `greedy logits`.

use clap::Args;

use super::model::ModelArgs;

/// `greedy logits` arguments.
#[derive(Debug, Clone, Args)]
#[command(after_help = LOGITS_EXAMPLES)]
pub struct LogitsArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Input token ids, comma-separated (works without tokenizer.json).
    #[arg(long, value_name = "IDS", conflicts_with = "text", required_unless_present = "text")]
    pub ids: Option<String>,
    /// Input text, tokenized with the model's tokenizer.json (`<bos>` added in front).
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
    /// Only the N largest logits of each position (ids and values, largest first).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// JSON on stdout: `{"logits": [[...], ...]}` (one row per position), or with --top
    /// `{"top": [{"pos": 0, "ids": [...], "logits": [...]}, ...]}`.
    #[arg(long)]
    pub json: bool,
}

const LOGITS_EXAMPLES: &str = "\
Examples:
  # Every logit of every position, as JSON (no tokenizer needed)
  greedy logits --model gpu-trainer/tests/fixtures/gemma2_tiny_f32 --ids 2,17,5 --json

  # The 5 most likely next tokens at each position of a text
  greedy logits --model models/gemma-2-2b-it --text \"The capital of France is\" --top 5";
