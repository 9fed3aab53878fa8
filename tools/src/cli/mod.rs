//! The command line: `greedy <SUBCOMMAND>`.

pub mod eval;
pub mod prompt;

use clap::{Parser, Subcommand};

pub use eval::EvalArgs;
pub use prompt::PromptArgs;

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
}

const TOP_EXAMPLES: &str = "\
Examples:
  greedy eval --env mab --arms 10 --agent ucb --agent random --episodes 64 --seed 1 --out runs/x
  greedy eval --env ttt --opponent random --agent minimax --episodes 200 --json
  greedy prompt --env mab --arms 5 --agent random --steps 10 --seed 1
  greedy eval --help";
