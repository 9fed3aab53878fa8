//! `greedy train sft` and `greedy train init`: settings in, a short report out.

use std::fmt::Write as _;

use anyhow::{Result, bail};

use crate::cli::train::{TrainArgs, TrainCommand};
use crate::train::init::parameter_count;
use crate::train::run::{SftOutcome, prepare};
use crate::train::settings::SftSettings;

/// Runs a `greedy train` subcommand; returns what to print.
pub fn run_command(args: TrainArgs) -> Result<String> {
    match args.command {
        TrainCommand::Sft(a) => {
            let settings = SftSettings::resolve(&a.with_config()?)?;
            let stop = crate::signals::StopRequest::install()?;
            let outcome = crate::train::gpu::run_sft(&settings, &stop)?;
            if outcome.interrupted {
                return Err(interrupted(&settings, &outcome).into());
            }
            Ok(describe(&settings, &outcome))
        }
        TrainCommand::Init(a) => {
            let a = a.with_config()?;
            if a.model.is_some() || a.init.is_none() {
                bail!(
                    "greedy train init writes a fresh model: give --init tiny or --init FILE.json, not --model"
                );
            }
            let settings = SftSettings::resolve(&a)?;
            if settings.resume {
                bail!("--resume applies only to greedy train sft");
            }
            let p = prepare(&settings)?;
            Ok(format!(
                "wrote {} (Gemma2, {} parameters, hidden {}, {} layers, vocabulary {})\n",
                p.start.display(),
                parameter_count(&p.config),
                p.config.hidden_size,
                p.config.num_layers,
                p.tokenizer.vocab_size()
            ))
        }
    }
}

/// The error of a run stopped by Ctrl-C / SIGTERM: where it stopped and how to go on.
pub fn interrupted(settings: &SftSettings, o: &SftOutcome) -> crate::signals::Interrupted {
    crate::signals::Interrupted(format!(
        "interrupted at step {}/{}: checkpoint saved in {}; run the same command with --resume to continue",
        o.state.step,
        settings.steps,
        o.checkpoint.display()
    ))
}

/// The closing lines of `greedy train sft`.
pub fn describe(settings: &SftSettings, o: &SftOutcome) -> String {
    let mut s = String::new();
    let done: Vec<_> = o.log.iter().filter(|r| !r.skipped).collect();
    let mean = |rs: &[&crate::train::log::StepRecord]| {
        rs.iter().map(|r| r.loss).sum::<f64>() / rs.len().max(1) as f64
    };
    let k = (done.len() / 10).clamp(1, 20);
    let _ = writeln!(
        s,
        "steps {}/{} ({} skipped), {:.1} s",
        o.state.step,
        settings.steps,
        o.state.skipped_steps.len(),
        o.train_seconds
    );
    if !done.is_empty() {
        let _ = writeln!(
            s,
            "loss: first {} steps {:.4}, last {} steps {:.4}",
            k,
            mean(&done[..k]),
            k,
            mean(&done[done.len() - k..])
        );
    }
    let tokens: usize = o.log.iter().map(|r| r.tokens).sum();
    let secs: f64 = o.log.iter().map(|r| r.tokens as f64 / r.tokens_per_s.max(1e-9)).sum();
    if secs > 0.0 {
        let _ = writeln!(s, "throughput: {:.0} tokens/s", tokens as f64 / secs);
    }
    let _ = writeln!(
        s,
        "model: {}\nlog: {}/log.jsonl, plot: {}/loss.png",
        o.checkpoint.display(),
        settings.out.display(),
        settings.out.display()
    );
    s
}
