//! The validated settings of an SFT run (`greedy train sft` resolves them from its flags).

use std::path::PathBuf;

use env_core::{ArmDistribution, LabelStyle};
use serde_json::{Value, json};

use super::data::SftData;
use crate::train::fresh::ModelShape;
use crate::train::learner::OptimSettings;

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

impl SftSettings {
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
            SftData::Expert(d) => json!({
                "data": d.expert.name(), "mode": d.mode.name(), "summary": d.summary, "episodes_per_setting": d.episodes,
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
