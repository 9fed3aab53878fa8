//! `greedy train`: supervised fine-tuning ([`sft`]), a fresh model (`init`), and RL fine-tuning
//! on the model's own chain-of-thought ([`rl`]).

pub mod rl;
pub mod sft;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};

pub use rl::RlArgs;
pub use sft::{OptimizerKind, SftArgs, TargetMode};

/// `greedy train <what>`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// What to train.
    #[command(subcommand)]
    pub command: TrainCommand,
}

/// The training subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum TrainCommand {
    /// Supervised fine-tuning on expert data (UCB or greedy rationales or actions) or a JSONL file.
    Sft(Box<SftArgs>),
    /// Write a freshly initialised model (`--init`) with its tokenizer to --out, without training.
    Init(Box<SftArgs>),
    /// RL fine-tuning on the model's own chain-of-thought (RLFT) on multi-armed or contextual
    /// bandits: rollouts with the live weights, the paper's clipped objective with a KL penalty.
    Rl(Box<RlArgs>),
}

/// Runs a `greedy train` subcommand; returns what to print.
pub fn run(args: TrainArgs) -> Result<String> {
    match args.command {
        TrainCommand::Sft(a) => {
            let a = a.with_config()?;
            let settings = a.settings()?;
            let stop = crate::signals::StopRequest::install()?;
            let bar = crate::progress::Bar::on_terminal(a.quiet);
            let outcome = gpu_trainer::train::sft::run_sft(&settings, &bar, stop.flag())?;
            crate::plot::loss::write_sft_loss(&settings.out, &outcome.log)?;
            if outcome.interrupted {
                return Err(sft::interrupted(&settings, &outcome).into());
            }
            Ok(sft::describe(&settings, &outcome))
        }
        TrainCommand::Rl(a) => rl::run(*a),
        TrainCommand::Init(a) => {
            let a = a.with_config()?;
            if a.model.is_some() || a.init.is_none() {
                bail!(
                    "greedy train init writes a fresh model: give --init tiny or --init FILE.json, not --model"
                );
            }
            let settings = a.settings()?;
            if settings.resume {
                bail!("--resume applies only to greedy train sft");
            }
            let p = gpu_trainer::train::sft::start::prepare(&settings)?;
            Ok(format!(
                "wrote {} (Gemma2, {} parameters, hidden {}, {} layers, vocabulary {})\n",
                p.start.display(),
                gpu_trainer::train::fresh::parameter_count(&p.config),
                p.config.hidden_size,
                p.config.num_layers,
                p.tokenizer.vocab_size()
            ))
        }
    }
}

