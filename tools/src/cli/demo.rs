//! `greedy demo`: its flags, as the demo's settings.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::demo::DemoSettings;

/// `greedy demo` arguments: the defaults fit in about ten minutes on a 2-core CPU through the
/// software Vulkan driver; the flags scale it up.
#[derive(Debug, Clone, Args)]
#[command(after_help = DEMO_EXAMPLES)]
pub struct DemoArgs {
    /// Optimizer steps of the thought-cloning run.
    #[arg(long, default_value_t = crate::demo::DEFAULT_STEPS)]
    pub steps: u64,
    /// Sequences per optimizer step.
    #[arg(long, default_value_t = crate::demo::DEFAULT_BATCH)]
    pub batch: usize,
    /// Evaluation episodes per agent (the model plays them all at once, one batch per step).
    #[arg(long, default_value_t = crate::demo::DEFAULT_EPISODES)]
    pub episodes: usize,
    /// Steps per bandit episode, in training and evaluation (the prompt grows with it).
    #[arg(long, default_value_t = crate::demo::DEFAULT_HORIZON)]
    pub horizon: usize,
    /// Seed of everything (expert data, data order, initial weights, evaluation scenarios).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = crate::cli::parse_seed)]
    pub seed: u64,
    /// Output directory: report.md, sft/ (the training run and its model), eval/ (the evaluation).
    #[arg(long, value_name = "DIR", default_value = "runs/demo")]
    pub out: PathBuf,
    /// Replace the sft/ and eval/ directories of an earlier demo in --out.
    #[arg(long)]
    pub force: bool,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

impl DemoArgs {
    /// The demo's settings.
    pub fn settings(&self) -> DemoSettings {
        DemoSettings {
            steps: self.steps,
            batch: self.batch,
            episodes: self.episodes,
            horizon: self.horizon,
            seed: self.seed,
            out: self.out.clone(),
            force: self.force,
            quiet: self.quiet,
        }
    }
}

/// Runs `greedy demo`; returns what to print.
pub fn run(args: &DemoArgs) -> Result<String> {
    crate::demo::run(&args.settings())
}

const DEMO_EXAMPLES: &str = "\
Examples:
  # The whole thing (about 10 minutes on a 2-core CPU with lavapipe): train, evaluate, report
  greedy demo

  # Longer training and a larger evaluation (a real GPU makes this quick)
  greedy demo --steps 2000 --batch 32 --episodes 64 --horizon 20 --out runs/demo-big

What it does: learns a BPE from the UCB expert's text, initialises a small Gemma2 from scratch,
trains it by thought cloning on UCB rationales for 5-armed Gaussian bandits (sigma 1, arms
numbered 0..4, prompts with the per-arm summary), evaluates it with `greedy eval --agent llm` next to ucb, greedy and
random on bandits it never saw, and writes DIR/report.md with the regret, coverage and loss plots.";
