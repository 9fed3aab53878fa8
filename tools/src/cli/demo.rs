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
    /// The RL story instead (15-30 minutes on 2 cores): thought-clone the greedy agent (a
    /// greedy start, as pretrained LLMs are), RL fine-tune it on its own chain-of-thought with the
    /// exploration bonus, then evaluate it before and after next to ucb, greedy and random.
    #[arg(long)]
    pub rl: bool,
    /// --rl: RL updates (optimizer steps of 16 step-samples; a rollout of 8 bandits feeds
    /// --horizon * 8 / 16 of them).
    #[arg(long, default_value_t = crate::demo::rl::DEFAULT_UPDATES, requires = "rl")]
    pub updates: u64,
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
            rl: self.rl,
            updates: self.updates,
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

  # The RL story: a greedy clone, RL fine-tuning with the exploration bonus, before and after
  greedy demo --rl --out runs/demo-rl

What it does: learns a BPE from the UCB expert's text, initialises a small Gemma2 from scratch,
trains it by thought cloning on UCB rationales for 5-armed Gaussian bandits (sigma 1, arms
numbered 0..4, prompts with the per-arm summary), evaluates it with `greedy eval --agent llm` next to ucb, greedy and
random on bandits it never saw, and writes DIR/report.md with the regret, coverage and loss plots.

With --rl: the same model shape, thought-cloned on the GREEDY agent instead (sft/), then RL
fine-tuning on its own chain-of-thought with the +1 bonus for untried arms (rl/: log.jsonl,
checkpoints, reward/KL/coverage/regret plots), then the clone (eval/) and the fine-tuned model
(eval-rl/) on the same held-out bandits next to ucb, greedy and random; DIR/report.md says what
changed, a failure to learn included.";
