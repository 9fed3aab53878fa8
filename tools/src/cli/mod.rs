//! The command line: `greedy <SUBCOMMAND>`. One module per subcommand: its flags (clap), how they
//! become the library's settings, and the handler that runs it and returns what to print (files
//! and plots through [`crate::report`] and [`crate::plot`]).

pub mod bench;
pub mod convert;
pub mod debug;
pub mod demo;
pub mod diagnose;
pub mod eval;
pub mod eval_shard;
pub mod generate;
pub mod inference;
pub mod logits;
pub mod merge;
pub mod model;
pub mod prompt;
pub mod report;
pub mod sweep;
pub mod tokenize;
pub mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};

pub use bench::BenchArgs;
pub use convert::ConvertArgs;
pub use debug::DebugArgs;
pub use demo::DemoArgs;
pub use diagnose::DiagnoseArgs;
pub use eval::EvalArgs;
pub use generate::GenerateArgs;
pub use logits::LogitsArgs;
pub use merge::MergeArgs;
pub use prompt::PromptArgs;
pub use report::ReportArgs;
pub use sweep::SweepArgs;
pub use tokenize::TokenizeArgs;
pub use train::{SftArgs, TrainArgs, TrainCommand};

/// Measure how agents decide on bandits and tic-tac-toe (Schmied et al. 2025, "LLMs are Greedy Agents").
#[derive(Debug, Parser)]
#[command(name = "greedy", version, about, long_about = None, after_help = TOP_EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run baseline agents over many seeded episodes; print a summary, write JSONL, JSON and plots.
    Eval(EvalArgs),
    /// Print the exact text an LLM agent reads at a given step of a given episode.
    Prompt(PromptArgs),
    /// Print a model's logits for token ids or text (one row per position, or the top N).
    Logits(LogitsArgs),
    /// Generate tokens from a model (greedy or sampled), from token ids or a text prompt.
    Generate(GenerateArgs),
    /// Measure inference (prefill/decode tokens/s, matmul GFLOP/s), training (--train) or environment steps/s,
    /// optionally next to the Python peers.
    Bench(BenchArgs),
    /// Train a model: supervised fine-tuning on expert data (`train sft`), or write a fresh
    /// small Gemma2 with its own tokenizer (`train init`).
    Train(TrainArgs),
    /// Train a small Gemma2 from scratch to reason like UCB, evaluate it next to the classic
    /// agents, and write a report (about 10 minutes on a 2-core CPU).
    Demo(DemoArgs),
    /// Inspect the training path: `greedy debug loss-grad` (loss and gradient norms on token ids).
    Debug(DebugArgs),
    /// Convert a model file into a HuggingFace checkpoint directory (`greedy convert gguf FILE OUT_DIR`).
    Convert(ConvertArgs),
    /// Print the token ids of a text under a model's tokenizer.json.
    Tokenize(TokenizeArgs),
    /// Failure-mode studies on a model: frequency bias (action scoring) and the knowing-doing gap.
    Diagnose(DiagnoseArgs),
    /// Put several run directories (eval and diagnose) together in one Markdown page with plots.
    Report(ReportArgs),
    /// Join the shards of one eval or diagnose run (written with --shard I/N) into the run one
    /// process would have written, byte for byte.
    Merge(MergeArgs),
    /// Run a grid of settings (a sweep file) as sharded runs: here, or on Slurm, Kubernetes or
    /// Ray, then merged.
    Sweep(SweepArgs),
}

/// Runs `command`; returns what to print on stdout.
pub fn run(command: Command) -> Result<String> {
    match command {
        Command::Eval(args) => eval::run(args),
        Command::Prompt(args) => prompt::render_prompt(&args),
        Command::Logits(args) => inference::logits(&args),
        Command::Generate(args) => inference::generate(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Train(args) => train::run(args),
        Command::Demo(args) => demo::run(&args),
        Command::Debug(args) => debug::run(&args),
        Command::Convert(args) => convert::run(&args),
        Command::Tokenize(args) => tokenize::run(&args),
        Command::Diagnose(args) => diagnose::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Sweep(args) => sweep::run(&args),
    }
}

const TOP_EXAMPLES: &str = "\
Examples:
  greedy eval --env mab --arms 10 --agent ucb --agent random --episodes 64 --seed 1 --out runs/x
  greedy eval --env ttt --opponent random --agent minimax --episodes 200 --json
  greedy prompt --env mab --arms 5 --agent random --steps 10 --seed 1
  greedy logits --model gpu-trainer/tests/fixtures/gemma2_tiny_f32 --ids 2,17,5 --top 3
  greedy generate --model DIR --prompt \"Hello\" --chat --max-new-tokens 40
  greedy eval --env mab --arms 5 --agent llm --model DIR --episodes 8
  greedy bench --model DIR --prompt-len 128 --new-tokens 32 --peer python3
  greedy train sft --init tiny --data ucb --mode thought --arms 5 --horizon 10 --summary --steps 300 --out runs/sft
  greedy demo --out runs/demo
  greedy debug loss-grad --model gpu-trainer/tests/fixtures/gemma2_tiny_f32 --ids 2,17,5,90 --json
  greedy convert gguf models/gemma-3-270m-q4_k_m.gguf models/gemma-3-270m
  greedy tokenize --model models/gemma-3-270m \"ACTION=2\" --json
  greedy diagnose frequency-bias --model DIR --contexts 16 --repeats 0,5,10,25,50,100 --out runs/freq
  greedy diagnose knowing-doing --model DIR --arms 5 --contexts 32 --out runs/kd
  greedy report runs/x runs/llm runs/freq --out runs/report
  greedy eval --env mab --arms 10 --agent ucb --episodes 64 --shard 0/2 --out runs/x.0
  greedy merge runs/x.0 runs/x.1 --out runs/x
  greedy sweep run grid.toml
  greedy eval --help";

/// `--seed`: an unsigned 64-bit integer, with an error that says so (clap alone reads `-1` as an
/// unknown flag).
pub fn parse_seed(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .map_err(|_| format!("the seed is an unsigned integer (0..={}), not {text}", u64::MAX))
}
