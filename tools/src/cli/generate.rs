//! Arguments of `greedy generate`.

use clap::Args;

use super::model::ModelArgs;

/// `greedy generate` arguments.
#[derive(Debug, Clone, Args)]
#[command(after_help = GENERATE_EXAMPLES)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Prompt token ids, comma-separated (works without tokenizer.json).
    #[arg(long, value_name = "IDS", conflicts_with = "prompt", required_unless_present = "prompt")]
    pub ids: Option<String>,
    /// Prompt text (needs tokenizer.json); the decoded continuation is printed.
    #[arg(long, value_name = "TEXT")]
    pub prompt: Option<String>,
    /// Wrap --prompt in Gemma's chat turns (`<start_of_turn>user ... <start_of_turn>model`).
    #[arg(long, requires = "prompt")]
    pub chat: bool,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 40)]
    pub max_new_tokens: usize,
    /// Sampling temperature; 0 = greedy (argmax).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Sample only among the K most likely tokens.
    #[arg(long, value_name = "K")]
    pub top_k: Option<usize>,
    /// Sample only among the most likely tokens whose probabilities sum to P (nucleus).
    #[arg(long, value_name = "P")]
    pub top_p: Option<f32>,
    /// Seed of the sampling: same seed, same output.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = crate::cli::parse_seed)]
    pub seed: u64,
    /// Print `{"ids": [...], "logprobs": [...]}` (plus `"text"` with --prompt) instead of text.
    #[arg(long)]
    pub json: bool,
}

const GENERATE_EXAMPLES: &str = "\
Examples:
  # Greedy continuation of token ids, as JSON (no tokenizer needed)
  greedy generate --model gpu-trainer/tests/fixtures/gemma2_tiny_f32 --ids 2,17,5 --max-new-tokens 40 --temperature 0 --json

  # Chat with an instruction-tuned model, sampled
  greedy generate --model models/gemma-2-2b-it --prompt \"Name three colours.\" --chat --temperature 0.7 --top-p 0.95 --seed 1

Stops at the model's <eos> or <end_of_turn>, or after --max-new-tokens.";
