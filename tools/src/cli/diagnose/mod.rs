//! Arguments of `greedy diagnose frequency-bias` and `greedy diagnose knowing-doing`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use gpu_trainer::envs::{DistKind, LabelKind};
use gpu_trainer::generate::WeightDType;

mod merge;
mod run;

pub use merge::{merge_frequency, merge_knowing};
pub use run::{is_diagnose_file, is_study_of, parse_repeats, run, shard_plan, study_file};

/// `greedy diagnose` arguments.
#[derive(Debug, Args)]
#[command(after_help = DIAGNOSE_EXAMPLES)]
pub struct DiagnoseArgs {
    /// Which study.
    #[command(subcommand)]
    pub command: DiagnoseCommand,
}

/// The studies.
#[derive(Debug, Subcommand)]
pub enum DiagnoseCommand {
    /// Frequency bias: random histories with the last action repeated 0..100 times; one forward
    /// per context scores every action (no generation); shares F_f / F_g / F_o, entropy.
    FrequencyBias(FrequencyBiasArgs),
    /// Knowing-doing gap: the model states every arm's UCB value, then acts; rationale correct /
    /// incorrect x action optimal / greedy / other.
    KnowingDoing(KnowingDoingArgs),
}

/// Flags shared by both studies: the model, the bandit, the prompt and the outputs.
#[derive(Debug, Clone, Args)]
pub struct DiagnoseCommon {
    /// Model directory (config.json, safetensors, tokenizer.json).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// Weight precision on the GPU.
    #[arg(long, value_enum, default_value_t = WeightDType::Auto)]
    pub dtype: WeightDType,
    /// Number of arms, 2..=32.
    #[arg(long, default_value_t = 10)]
    pub arms: usize,
    /// Reward distribution.
    #[arg(long, value_enum, default_value_t = DistKind::Gaussian)]
    pub dist: DistKind,
    /// Gaussian arms: reward standard deviation [default: 1].
    #[arg(long)]
    pub sigma: Option<f64>,
    /// Bernoulli arms: gap between the best arm and the others [default: 0.2].
    #[arg(long)]
    pub gap: Option<f64>,
    /// Action labels.
    #[arg(long, value_enum, default_value_t = LabelKind::Buttons)]
    pub labels: LabelKind,
    /// Number of random contexts.
    #[arg(long, default_value_t = 32)]
    pub contexts: usize,
    /// Seed: context c plays scenario derive_seed(seed, c).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = crate::cli::parse_seed)]
    pub seed: u64,
    /// Plain text without Gemma's chat turns (base models).
    #[arg(long)]
    pub base: bool,
    /// Add each arm's count and mean reward after the history.
    #[arg(long)]
    pub summary: bool,
    /// Score only shard I of N: the contexts c with c mod N = I, written with a shard.json into
    /// --out (results over those contexts, no plot); `greedy merge` joins the N shards.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Directory for the JSON, the per-context JSONL and the plot (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the results as one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `greedy diagnose frequency-bias` arguments.
#[derive(Debug, Clone, Args)]
pub struct FrequencyBiasArgs {
    #[command(flatten)]
    pub common: DiagnoseCommon,
    /// Repetition counts of the target action, comma separated.
    #[arg(long, value_name = "N,N,...", default_value = "0,10,20,30,40,50,60,70,80,90,100")]
    pub repeats: String,
    /// Shortest random history before the repetitions (>= 1).
    #[arg(long, default_value_t = 2)]
    pub min_history: usize,
    /// Longest random history before the repetitions.
    #[arg(long, default_value_t = 10)]
    pub max_history: usize,
    /// The answer scored for each action; {label} is replaced by the action's label.
    #[arg(long, value_name = "TEXT", default_value = "ACTION={label}")]
    pub answer: String,
    /// Contexts per scoring call (all their repetition counts and actions at once; the engine
    /// splits a call into forwards that fit the GPU). Results do not depend on it.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
}

/// `greedy diagnose knowing-doing` arguments.
#[derive(Debug, Clone, Args)]
pub struct KnowingDoingArgs {
    #[command(flatten)]
    pub common: DiagnoseCommon,
    /// Steps the prompt announces.
    #[arg(long, default_value_t = 50)]
    pub horizon: usize,
    /// Shortest history.
    #[arg(long, default_value_t = 0)]
    pub min_steps: usize,
    /// Longest history (< horizon) [default: horizon - 1].
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// The baseline agent that plays the histories (random, ucb, greedy, try-all:greedy, ...).
    #[arg(long, value_name = "AGENT", default_value = "random")]
    pub history_agent: String,
    /// Epsilon of an eps-greedy / eps: history agent.
    #[arg(long, default_value_t = 0.1)]
    pub epsilon: f64,
    /// Generation budget per answer (the paper's knowing-doing study: 2048).
    #[arg(long, default_value_t = 2048)]
    pub max_new_tokens: usize,
    /// Sampling temperature, 0 = greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Contexts per generation call at most.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
}

const DIAGNOSE_EXAMPLES: &str = "\
Examples:
  # Frequency bias on 10 Gaussian arms: 32 contexts x 11 repetition counts, one scoring pass
  greedy diagnose frequency-bias --model models/gemma-2-2b-it --contexts 32 --out runs/freq

  # A smaller sweep
  greedy diagnose frequency-bias --model DIR --arms 5 --contexts 8 --repeats 0,5,10,25,50,100 --json

  # Knowing-doing gap: 64 random-policy histories, 2048-token answers
  greedy diagnose knowing-doing --model DIR --arms 5 --contexts 64 --out runs/kd

  # The same study in two shards (contexts 0, 2, 4, ... and 1, 3, 5, ...), then merged
  greedy diagnose knowing-doing --model DIR --arms 5 --contexts 64 --shard 0/2 --out runs/kd.0
  greedy diagnose knowing-doing --model DIR --arms 5 --contexts 64 --shard 1/2 --out runs/kd.1
  greedy merge runs/kd.0 runs/kd.1 --out runs/kd

Outputs (with --out DIR): frequency_bias.json or knowing_doing.json (settings and results),
contexts.jsonl (one line per scored prompt or answer), and the figure as .png and .svg.";
