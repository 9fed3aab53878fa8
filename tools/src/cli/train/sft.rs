//! `greedy train sft` and `greedy train init`: flags (every setting can also come from
//! `--config FILE.json`, keys as the flag names; a flag on the command line wins), the library's
//! SFT settings, the closing report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use env_core::rng::derive_seed;
use env_core::{ArmDistribution, MabConfig};
use gpu_trainer::eval::settings::{check_f64, check_usize};
use gpu_trainer::train::bpe::{MAX_VOCAB, MIN_VOCAB};
use gpu_trainer::train::fresh::ModelShape;
use gpu_trainer::train::learner::OptimSettings;
pub use gpu_trainer::train::learner::OptimizerKind;
pub use gpu_trainer::train::sft::data::TargetMode;
use gpu_trainer::train::sft::data::{Expert, ExpertData, FileData, SftData};
use gpu_trainer::train::sft::settings::{FreshBase, ModelSource, streams};
use gpu_trainer::train::sft::{SftOutcome, SftSettings};
use serde::Deserialize;

use crate::cli::eval::LabelKind;

/// `greedy train sft` arguments.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[command(after_help = SFT_EXAMPLES)]
pub struct SftArgs {
    /// Settings file (JSON) with any of these flags as keys (`"steps": 200`, `"arms": [5]`);
    /// flags on the command line override it.
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Start from this HuggingFace checkpoint (config.json, safetensors, tokenizer.json).
    #[arg(long, value_name = "DIR", conflicts_with = "init", help_heading = "Model")]
    pub model: Option<PathBuf>,
    /// Start from a fresh model: `tiny` (shape from the flags below), or a config.json-style
    /// FILE whose vocab_size is replaced by the learned tokenizer's.
    #[arg(long, value_name = "tiny|FILE.json", help_heading = "Model")]
    pub init: Option<String>,
    /// --init tiny: hidden size [default: 96].
    #[arg(long, help_heading = "Model")]
    pub hidden: Option<usize>,
    /// --init tiny: decoder layers, even ones local (sliding window) [default: 4].
    #[arg(long, help_heading = "Model")]
    pub layers: Option<usize>,
    /// --init tiny: query heads [default: 4].
    #[arg(long, help_heading = "Model")]
    pub heads: Option<usize>,
    /// --init tiny: key/value heads, divides --heads [default: 2].
    #[arg(long, help_heading = "Model")]
    pub kv_heads: Option<usize>,
    /// --init tiny: dimension of a head (even) [default: 24].
    #[arg(long, help_heading = "Model")]
    pub head_dim: Option<usize>,
    /// --init tiny: MLP intermediate size [default: 288].
    #[arg(long, help_heading = "Model")]
    pub ffn: Option<usize>,
    /// --init tiny: sliding window of the local layers [default: 64].
    #[arg(long, help_heading = "Model")]
    pub window: Option<usize>,
    /// --init: longest sequence, max_position_embeddings [default: 1024].
    #[arg(long, help_heading = "Model")]
    pub context: Option<usize>,
    /// --init: tokenizer size (BPE learned on the training data's text), 384..=65536 [default: 1024].
    #[arg(long, help_heading = "Model")]
    pub vocab: Option<usize>,

    /// Training data: `ucb` (the UCB expert on Gaussian bandits), `greedy` (the greedy agent: a
    /// random first arm, then the best mean so far; a greedy starting policy for RL), or a JSONL
    /// file of {"prompt": ..., "target": ...} lines (prompt = the full text, chat turns included)
    /// [default: ucb].
    #[arg(long, value_name = "ucb|greedy|FILE.jsonl", help_heading = "Data")]
    pub data: Option<String>,
    /// ucb: thought cloning (UCB rationale, then ACTION=X) or behaviour cloning (ACTION=X only)
    /// [default: thought].
    #[arg(long, value_enum, help_heading = "Data")]
    pub mode: Option<TargetMode>,
    /// ucb: number of arms; repeat for several settings [default: 5].
    #[arg(long, help_heading = "Data")]
    #[serde(default)]
    pub arms: Vec<usize>,
    /// ucb: reward noise sigma; repeat for several settings (crossed with --arms) [default: 1].
    #[arg(long, allow_negative_numbers = true, help_heading = "Data")]
    #[serde(default)]
    pub sigma: Vec<f64>,
    /// ucb: action labels: colour names (the paper's main setting) or 0..k-1 [default: buttons].
    #[arg(long, value_enum, help_heading = "Data")]
    pub labels: Option<crate::cli::eval::LabelKind>,
    /// ucb: steps per episode (the prompt grows with it) [default: 20].
    #[arg(long, help_heading = "Data")]
    pub horizon: Option<usize>,
    /// ucb: expert episodes per (arms, sigma) setting [default: 512].
    #[arg(long, help_heading = "Data")]
    pub expert_episodes: Option<usize>,
    /// ucb: prompts end with each arm's count and mean reward (evaluate with `--summary` too).
    #[arg(long, help_heading = "Data")]
    #[serde(default)]
    pub summary: bool,
    /// Longest training sequence in tokens [default: the model's context].
    #[arg(long, help_heading = "Data")]
    pub max_len: Option<usize>,

    /// Optimizer steps (the learning-rate schedule spans them) [default: 1000].
    #[arg(long, help_heading = "Optimization")]
    pub steps: Option<u64>,
    /// Sequences per optimizer step [default: 16].
    #[arg(long, help_heading = "Optimization")]
    pub batch: Option<usize>,
    /// Sequences per forward/backward; gradients accumulate over batch / micro-batch of them
    /// [default: --batch].
    #[arg(long, help_heading = "Optimization")]
    pub micro_batch: Option<usize>,
    /// Peak learning rate [default: 1e-3 with --init, 1e-4 with --model].
    #[arg(long, help_heading = "Optimization")]
    pub lr: Option<f64>,
    /// Linear warm-up steps, then cosine decay to --min-lr [default: steps / 10, at most 100].
    #[arg(long, help_heading = "Optimization")]
    pub warmup: Option<u64>,
    /// Learning rate at the end of the cosine decay [default: lr / 100].
    #[arg(long, help_heading = "Optimization")]
    pub min_lr: Option<f64>,
    /// Optimizer [default: adamw].
    #[arg(long, value_enum, help_heading = "Optimization")]
    pub optimizer: Option<OptimizerKind>,
    /// Clip the global gradient norm to this (0: no clipping) [default: 1].
    #[arg(long, help_heading = "Optimization")]
    pub clip: Option<f64>,
    /// Decoupled weight decay of the matrices (AdamW) [default: 0].
    #[arg(long, help_heading = "Optimization")]
    pub weight_decay: Option<f64>,

    /// Seed of the data, the data order and the fresh model [default: 0].
    #[arg(long, help_heading = "Run", allow_negative_numbers = true, value_parser = crate::cli::parse_seed)]
    pub seed: Option<u64>,
    /// Run directory: checkpoint/ (the latest model, loadable by every command), log.jsonl,
    /// loss.png/svg, settings.json [default: runs/sft].
    #[arg(long, value_name = "DIR", help_heading = "Run")]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its checkpoint: same data order, same schedule.
    #[arg(long, help_heading = "Run")]
    #[serde(default)]
    pub resume: bool,
    /// Save a checkpoint every N steps (and always at the end) [default: 100].
    #[arg(long, help_heading = "Run")]
    pub save_every: Option<u64>,
    /// Stop (and save) after this step although the schedule spans --steps; `--resume` goes on.
    #[arg(long, help_heading = "Run")]
    pub stop_at: Option<u64>,
    /// No progress bar (the JSONL log is written either way).
    #[arg(long, help_heading = "Run")]
    #[serde(default)]
    pub quiet: bool,
}

impl SftArgs {
    /// These arguments with the unset ones taken from `--config`, if given.
    pub fn with_config(self) -> Result<SftArgs> {
        let Some(path) = self.config.clone() else { return Ok(self) };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("--config: cannot read {}", path.display()))?;
        let file: SftArgs = serde_json::from_str(&text)
            .with_context(|| format!("--config: {} is not a valid settings file", path.display()))?;
        Ok(self.or(file))
    }

    /// Each setting from `self` if set, else from `other`.
    fn or(self, o: SftArgs) -> SftArgs {
        let list = |a: Vec<usize>, b: Vec<usize>| if a.is_empty() { b } else { a };
        SftArgs {
            config: self.config,
            model: self.model.or(o.model),
            init: self.init.or(o.init),
            hidden: self.hidden.or(o.hidden),
            layers: self.layers.or(o.layers),
            heads: self.heads.or(o.heads),
            kv_heads: self.kv_heads.or(o.kv_heads),
            head_dim: self.head_dim.or(o.head_dim),
            ffn: self.ffn.or(o.ffn),
            window: self.window.or(o.window),
            context: self.context.or(o.context),
            vocab: self.vocab.or(o.vocab),
            data: self.data.or(o.data),
            mode: self.mode.or(o.mode),
            arms: list(self.arms, o.arms),
            sigma: if self.sigma.is_empty() { o.sigma } else { self.sigma },
            labels: self.labels.or(o.labels),
            horizon: self.horizon.or(o.horizon),
            expert_episodes: self.expert_episodes.or(o.expert_episodes),
            summary: self.summary || o.summary,
            max_len: self.max_len.or(o.max_len),
            steps: self.steps.or(o.steps),
            batch: self.batch.or(o.batch),
            micro_batch: self.micro_batch.or(o.micro_batch),
            lr: self.lr.or(o.lr),
            warmup: self.warmup.or(o.warmup),
            min_lr: self.min_lr.or(o.min_lr),
            optimizer: self.optimizer.or(o.optimizer),
            clip: self.clip.or(o.clip),
            weight_decay: self.weight_decay.or(o.weight_decay),
            seed: self.seed.or(o.seed),
            out: self.out.or(o.out),
            resume: self.resume || o.resume,
            save_every: self.save_every.or(o.save_every),
            stop_at: self.stop_at.or(o.stop_at),
            quiet: self.quiet || o.quiet,
        }
    }

    /// The run directory.
    pub fn out_dir(&self) -> &Path {
        self.out.as_deref().unwrap_or(Path::new("runs/sft"))
    }
}

impl SftArgs {
    /// The library settings of these arguments (already merged with `--config`): validated, the
    /// defaults applied. Every check names the flag, the value and what is allowed; flags that do
    /// not apply are rejected, not ignored.
    pub fn settings(&self) -> Result<SftSettings> {
        let args = self;
        let seed = args.seed.unwrap_or(0);
        let source = sft_source(args)?;
        let data = sft_data(args, seed)?;
        let steps = args.steps.unwrap_or(1000);
        if steps == 0 || steps > 100_000_000 {
            bail!("invalid value {steps} for --steps: allowed 1..=100000000");
        }
        let batch = check_usize("--batch", args.batch.unwrap_or(16), 1, 1 << 20)?;
        let micro_batch = check_usize("--micro-batch", args.micro_batch.unwrap_or(batch), 1, batch)?;
        let fresh = matches!(source, ModelSource::Fresh { .. });
        let lr = check_f64("--lr", args.lr.unwrap_or(if fresh { 1e-3 } else { 1e-4 }), 1e-12, 10.0)?;
        let warmup = args.warmup.unwrap_or((steps / 10).min(100));
        if warmup > steps {
            bail!("invalid value {warmup} for --warmup: allowed 0..={steps} (--steps)");
        }
        let min_lr = check_f64("--min-lr", args.min_lr.unwrap_or(lr / 100.0), 0.0, lr)?;
        let clip = match check_f64("--clip", args.clip.unwrap_or(1.0), 0.0, 1e12)? {
            0.0 => None,
            c => Some(c),
        };
        let weight_decay = check_f64("--weight-decay", args.weight_decay.unwrap_or(0.0), 0.0, 1.0)?;
        let kind = args.optimizer.unwrap_or(OptimizerKind::Adamw);
        if kind == OptimizerKind::Adafactor && args.weight_decay.is_some_and(|w| w != 0.0) {
            bail!("--weight-decay applies only to --optimizer adamw");
        }
        let save_every = args.save_every.unwrap_or(100);
        if save_every == 0 {
            bail!("invalid value 0 for --save-every: allowed 1 or more");
        }
        let stop_at = args.stop_at.unwrap_or(steps);
        if stop_at == 0 || stop_at > steps {
            bail!("invalid value {stop_at} for --stop-at: allowed 1..={steps} (--steps)");
        }
        if let Some(m) = args.max_len {
            check_usize("--max-len", m, 2, 1 << 20)?;
        }
        Ok(SftSettings {
            source,
            data,
            max_len: args.max_len,
            steps,
            batch,
            micro_batch,
            optim: OptimSettings { kind, lr, warmup, min_lr, clip, weight_decay },
            seed,
            out: args.out_dir().to_path_buf(),
            resume: args.resume,
            save_every,
            stop_at,
        })
    }
}

/// The model trained.
fn sft_source(args: &SftArgs) -> Result<ModelSource> {
    let shape_flags = [
        ("--hidden", args.hidden),
        ("--layers", args.layers),
        ("--heads", args.heads),
        ("--kv-heads", args.kv_heads),
        ("--head-dim", args.head_dim),
        ("--ffn", args.ffn),
        ("--window", args.window),
    ];
    match (&args.model, &args.init) {
        (Some(_), Some(_)) => bail!("give either --model DIR or --init, not both"),
        (None, None) => {
            bail!("no model: give --model DIR (a checkpoint) or --init tiny (a fresh small Gemma2)")
        }
        (Some(dir), None) => {
            for (flag, v) in shape_flags.iter().chain(&[("--context", args.context), ("--vocab", args.vocab)])
            {
                if v.is_some() {
                    bail!("{flag} applies only to --init (the model of --model has its own shape)");
                }
            }
            if !dir.join("config.json").is_file() {
                bail!(
                    "--model {}: no config.json in it (expected a HuggingFace checkpoint directory)",
                    dir.display()
                );
            }
            if !dir.join("tokenizer.json").is_file() {
                bail!("--model {}: no tokenizer.json in it (training reads text)", dir.display());
            }
            Ok(ModelSource::Checkpoint(dir.clone()))
        }
        (None, Some(init)) => {
            let vocab = check_usize("--vocab", args.vocab.unwrap_or(1024), MIN_VOCAB, MAX_VOCAB)?;
            let base = if init == "tiny" {
                let d = ModelShape::TINY;
                let shape = ModelShape {
                    hidden: args.hidden.unwrap_or(d.hidden),
                    layers: args.layers.unwrap_or(d.layers),
                    heads: args.heads.unwrap_or(d.heads),
                    kv_heads: args.kv_heads.unwrap_or(d.kv_heads),
                    head_dim: args.head_dim.unwrap_or(d.head_dim),
                    ffn: args.ffn.unwrap_or(d.ffn),
                    window: args.window.unwrap_or(d.window),
                    context: args.context.unwrap_or(d.context),
                };
                shape.validate()?;
                FreshBase::Tiny(shape)
            } else {
                if let Some((flag, _)) =
                    shape_flags.iter().chain(&[("--context", args.context)]).find(|f| f.1.is_some())
                {
                    bail!("{flag} applies only to --init tiny (--init {init} gives the shape)");
                }
                let path = PathBuf::from(init);
                if !path.is_file() {
                    bail!(
                        "invalid value '{init}' for --init: expected `tiny` or a config.json-style file, and there is no file {init}"
                    );
                }
                FreshBase::File(path)
            };
            Ok(ModelSource::Fresh { base, vocab })
        }
    }
}

/// The examples.
fn sft_data(args: &SftArgs, seed: u64) -> Result<SftData> {
    let source = args.data.as_deref().unwrap_or("ucb");
    let expert = match source {
        "ucb" => Some(Expert::Ucb),
        "greedy" => Some(Expert::Greedy),
        _ => None,
    };
    if expert.is_none() {
        for (flag, set) in [
            ("--mode", args.mode.is_some()),
            ("--arms", !args.arms.is_empty()),
            ("--sigma", !args.sigma.is_empty()),
            ("--horizon", args.horizon.is_some()),
            ("--labels", args.labels.is_some()),
            ("--expert-episodes", args.expert_episodes.is_some()),
            ("--summary", args.summary),
        ] {
            if set {
                bail!("{flag} applies only to --data ucb or greedy (the file gives the prompts and targets)");
            }
        }
        let path = PathBuf::from(source);
        if !path.is_file() {
            bail!(
                "invalid value '{source}' for --data: expected `ucb`, `greedy` or a JSONL file, and there is no file {source}"
            );
        }
        return Ok(SftData::File(FileData::load(&path)?));
    }
    let arms = if args.arms.is_empty() { vec![5] } else { args.arms.clone() };
    let sigmas = if args.sigma.is_empty() { vec![1.0] } else { args.sigma.clone() };
    let horizon = check_usize("--horizon", args.horizon.unwrap_or(20), 1, 10_000)?;
    let labels = args.labels.unwrap_or(LabelKind::Buttons).into();
    let mut settings = Vec::new();
    for &a in &arms {
        check_usize("--arms", a, 2, env_core::MAX_ARMS)?;
        for &s in &sigmas {
            let sigma = check_f64("--sigma", s, 0.0, 1e6)?;
            settings.push(MabConfig {
                arms: a,
                horizon,
                distribution: ArmDistribution::Gaussian { sigma },
                labels,
            });
        }
    }
    let episodes = check_usize("--expert-episodes", args.expert_episodes.unwrap_or(512), 1, 100_000_000)?;
    let mode = args.mode.unwrap_or(TargetMode::Thought);
    let data = ExpertData::new(settings, episodes, mode, args.summary, derive_seed(seed, streams::DATA))?;
    Ok(SftData::Expert(data.with_expert(expert.expect("an expert: the file case returned above"))))
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
    let mean = |rs: &[&gpu_trainer::train::sft::log::StepRow]| {
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

const SFT_EXAMPLES: &str = "\
Examples:
  # Thought cloning from scratch: a tiny Gemma2 and its own BPE, trained on UCB rationales
  greedy train sft --init tiny --data ucb --mode thought --arms 5 --horizon 10 --summary \\
      --steps 300 --batch 16 --lr 2e-3 --out runs/sft-tiny

  # A bigger fresh model, AdaFactor, behaviour cloning on two noise levels
  greedy train sft --init tiny --hidden 256 --layers 6 --heads 8 --kv-heads 4 --head-dim 32 \\
      --mode behaviour --arms 10 --sigma 0.1 --sigma 1 --optimizer adafactor --out runs/bc

  # Fine-tune a checkpoint on your own (prompt, target) pairs, micro-batches of 4
  greedy train sft --model models/gemma-2-2b-it --data pairs.jsonl --batch 32 --micro-batch 4 \\
      --lr 1e-4 --warmup 100 --clip 1 --steps 2000 --out runs/ft

  # Stop at step 150 and continue later: the same data order, schedule and result
  greedy train sft --init tiny --steps 300 --stop-at 150 --out runs/a
  greedy train sft --init tiny --steps 300 --out runs/a --resume

  # Evaluate what came out (use the prompt settings it was trained with)
  greedy eval --env mab --arms 5 --horizon 10 --summary --agent llm --agent ucb --model runs/sft-tiny/checkpoint

Outputs in --out: checkpoint/ (model.safetensors, config.json, tokenizer.json, optimizer.safetensors,
trainer_state.json; replaced atomically), log.jsonl (one line per step: step, loss, lr, grad_norm,
tokens, target_tokens, tokens_per_s, skipped), loss.png/svg, settings.json.";

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> SftArgs {
        SftArgs { init: Some("tiny".into()), ..SftArgs::default() }
    }

    #[test]
    fn defaults() {
        let s = args().settings().unwrap();
        assert_eq!((s.steps, s.batch, s.micro_batch, s.stop_at, s.save_every), (1000, 16, 16, 1000, 100));
        assert_eq!(s.optim.lr, 1e-3);
        assert_eq!(s.optim.warmup, 100);
        assert_eq!(s.optim.clip, Some(1.0));
        let SftData::Expert(d) = &s.data else { panic!("ucb by default") };
        assert_eq!(
            (d.settings.len(), d.settings[0].arms, d.settings[0].horizon, d.episodes),
            (1, 5, 20, 512)
        );
        assert_eq!(d.mode, TargetMode::Thought);
    }

    #[test]
    fn errors_name_the_flag() {
        let e = |a: SftArgs| a.settings().unwrap_err().to_string();
        assert!(e(SftArgs::default()).contains("--model DIR"));
        assert!(e(SftArgs { micro_batch: Some(32), ..args() }).contains("--micro-batch"));
        assert!(e(SftArgs { stop_at: Some(2000), ..args() }).contains("--stop-at"));
        assert!(e(SftArgs { lr: Some(-1.0), ..args() }).contains("--lr"));
        assert!(e(SftArgs { arms: vec![1], ..args() }).contains("--arms"));
        assert!(e(SftArgs { vocab: Some(10), ..args() }).contains("--vocab"));
        assert!(e(SftArgs { init: Some("nope.json".into()), ..args() }).contains("--init"));
        assert!(e(SftArgs { data: Some("none.jsonl".into()), ..args() }).contains("--data"));
        let m = SftArgs { model: Some("/nonexistent".into()), hidden: Some(8), ..SftArgs::default() };
        assert!(e(m).contains("--hidden"));
    }
}
