//! Validated SFT settings, resolved from [`SftArgs`] with the defaults applied. Every check names
//! the flag, the value and what is allowed; flags that do not apply are rejected, not ignored.

use std::path::PathBuf;

use anyhow::{Result, bail};
use env_core::rng::derive_seed;
use env_core::{ArmDistribution, LabelStyle, MabConfig};
use serde_json::{Value, json};

use crate::cli::eval::LabelKind;
use crate::cli::train::{OptimizerKind, SftArgs};
use crate::train::data::{FileData, SftData, TargetMode, UcbData};
use crate::train::init::ModelShape;
use crate::train::tokenizer::{MAX_VOCAB, MIN_VOCAB};

/// Where the fresh model's shape comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum FreshBase {
    /// `--init tiny` and the shape flags.
    Tiny(ModelShape),
    /// `--init FILE.json`: a config.json-style file.
    File(PathBuf),
}

/// The model trained.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSource {
    /// `--model DIR`: an existing checkpoint with its tokenizer.
    Checkpoint(PathBuf),
    /// `--init`: a fresh model and a BPE of `vocab` tokens learned on the data's text.
    Fresh {
        /// Its shape.
        base: FreshBase,
        /// Tokenizer size.
        vocab: usize,
    },
}

/// Optimizer settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimSettings {
    /// AdamW or AdaFactor.
    pub kind: OptimizerKind,
    /// Peak learning rate.
    pub lr: f64,
    /// Linear warm-up steps.
    pub warmup: u64,
    /// Learning rate at the end of the cosine decay.
    pub min_lr: f64,
    /// Global gradient-norm clip (`None`: no clipping).
    pub clip: Option<f64>,
    /// Decoupled weight decay of the matrices.
    pub weight_decay: f64,
}

/// Everything `greedy train sft` needs, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct SftSettings {
    /// The model trained.
    pub source: ModelSource,
    /// The examples.
    pub data: SftData,
    /// Longest sequence (`None`: the model's context).
    pub max_len: Option<usize>,
    /// Optimizer steps the schedule spans.
    pub steps: u64,
    /// Sequences per optimizer step.
    pub batch: usize,
    /// Sequences per forward/backward.
    pub micro_batch: usize,
    /// Optimizer.
    pub optim: OptimSettings,
    /// Seed of the run.
    pub seed: u64,
    /// Run directory.
    pub out: PathBuf,
    /// Continue from the checkpoint in `out`.
    pub resume: bool,
    /// Checkpoint period in steps.
    pub save_every: u64,
    /// Last step of this invocation.
    pub stop_at: u64,
    /// No progress bar.
    pub quiet: bool,
}

/// Sub-seeds of the run seed.
pub mod streams {
    /// The expert data's scenarios.
    pub const DATA: u64 = 0x4441_5441; // "DATA"
    /// The data order.
    pub const ORDER: u64 = 0x4F_5244_4552; // "ORDER"
    /// The fresh model's weights.
    pub const INIT: u64 = 0x494E_4954; // "INIT"
}

fn check_usize(flag: &str, v: usize, lo: usize, hi: usize) -> Result<usize> {
    if v < lo || v > hi {
        bail!("invalid value {v} for {flag}: allowed {lo}..={hi}");
    }
    Ok(v)
}

fn check_f64(flag: &str, v: f64, lo: f64, hi: f64) -> Result<f64> {
    if !v.is_finite() || v < lo || v > hi {
        bail!("invalid value {v} for {flag}: allowed a number in {lo}..={hi}");
    }
    Ok(v)
}

impl SftSettings {
    /// Validates `args` (already merged with `--config`) and applies the defaults.
    pub fn resolve(args: &SftArgs) -> Result<SftSettings> {
        let seed = args.seed.unwrap_or(0);
        let source = Self::source(args)?;
        let data = Self::data(args, seed)?;
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
            quiet: args.quiet,
        })
    }

    fn source(args: &SftArgs) -> Result<ModelSource> {
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
                for (flag, v) in
                    shape_flags.iter().chain(&[("--context", args.context), ("--vocab", args.vocab)])
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

    fn data(args: &SftArgs, seed: u64) -> Result<SftData> {
        let source = args.data.as_deref().unwrap_or("ucb");
        if source != "ucb" {
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
                    bail!("{flag} applies only to --data ucb (the file gives the prompts and targets)");
                }
            }
            let path = PathBuf::from(source);
            if !path.is_file() {
                bail!(
                    "invalid value '{source}' for --data: expected `ucb` or a JSONL file, and there is no file {source}"
                );
            }
            return Ok(SftData::File(FileData::load(&path)?));
        }
        let arms = if args.arms.is_empty() { vec![5] } else { args.arms.clone() };
        let sigmas = if args.sigma.is_empty() { vec![1.0] } else { args.sigma.clone() };
        let horizon = check_usize("--horizon", args.horizon.unwrap_or(20), 1, 10_000)?;
        let labels = match args.labels.unwrap_or(LabelKind::Buttons) {
            LabelKind::Buttons => LabelStyle::Buttons,
            LabelKind::Numeric => LabelStyle::Numeric,
        };
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
        Ok(SftData::Ucb(UcbData::new(
            settings,
            episodes,
            mode,
            args.summary,
            derive_seed(seed, streams::DATA),
        )?))
    }

    /// The settings that fix the result of a run, as JSON (`settings.json`; a resumed run must
    /// match it).
    pub fn to_json(&self) -> Value {
        let source = match &self.source {
            ModelSource::Checkpoint(d) => json!({"model": d.display().to_string()}),
            ModelSource::Fresh { base: FreshBase::Tiny(shape), vocab } => {
                json!({"init": "tiny", "shape": shape, "vocab": vocab})
            }
            ModelSource::Fresh { base: FreshBase::File(p), vocab } => {
                json!({"init": p.display().to_string(), "vocab": vocab})
            }
        };
        let data = match &self.data {
            SftData::Ucb(d) => json!({
                "data": "ucb", "mode": d.mode.name(), "summary": d.summary, "episodes_per_setting": d.episodes,
                "settings": d.settings.iter().map(|c| json!({
                    "arms": c.arms, "horizon": c.horizon,
                    "labels": match c.labels { LabelStyle::Buttons => "buttons", LabelStyle::Numeric => "numeric" },
                    "sigma": match c.distribution { ArmDistribution::Gaussian { sigma } => sigma, ArmDistribution::Bernoulli { .. } => f64::NAN },
                })).collect::<Vec<_>>(),
                "examples": d.len(),
            }),
            SftData::File(f) => json!({"data": f.path.display().to_string(), "examples": f.examples.len()}),
        };
        let o = &self.optim;
        json!({
            "source": source,
            "data": data,
            "max_len": self.max_len,
            "steps": self.steps,
            "batch": self.batch,
            "micro_batch": self.micro_batch,
            "optimizer": {
                "kind": format!("{:?}", o.kind).to_lowercase(), "lr": o.lr, "warmup": o.warmup, "min_lr": o.min_lr,
                "clip": o.clip, "weight_decay": o.weight_decay,
            },
            "seed": self.seed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> SftArgs {
        SftArgs { init: Some("tiny".into()), ..SftArgs::default() }
    }

    #[test]
    fn defaults() {
        let s = SftSettings::resolve(&args()).unwrap();
        assert_eq!((s.steps, s.batch, s.micro_batch, s.stop_at, s.save_every), (1000, 16, 16, 1000, 100));
        assert_eq!(s.optim.lr, 1e-3);
        assert_eq!(s.optim.warmup, 100);
        assert_eq!(s.optim.clip, Some(1.0));
        let SftData::Ucb(d) = &s.data else { panic!("ucb by default") };
        assert_eq!(
            (d.settings.len(), d.settings[0].arms, d.settings[0].horizon, d.episodes),
            (1, 5, 20, 512)
        );
        assert_eq!(d.mode, TargetMode::Thought);
    }

    #[test]
    fn errors_name_the_flag() {
        let e = |a: SftArgs| SftSettings::resolve(&a).unwrap_err().to_string();
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
